// MessagePack encoding of client messages and decoding of server messages, on the plain
// C API of msgpack-c (msgpack_packer / msgpack_unpack), without C++ exceptions.
//
// Encoding writes the keys in the order of the Python codec's `to_wire` (v, type, seq,
// then the dataclass fields, optional ones left out when absent), so both produce the
// same bytes; tests/vectors/ checks this. Decoding is zero-copy: strings and binary
// payloads in a decoded message point into the frame, and nested maps are msgpack
// objects in the decoder's zone. Both stay valid until the next Decode call.
#pragma once

#include <msgpack.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "merg/protocol.h"

namespace merg {

// A string inside a decoded frame: not NUL-terminated.
struct StrView {
  const char* data = nullptr;
  uint32_t size = 0;

  bool empty() const { return size == 0; }
  bool present() const { return data != nullptr; }
  bool Equals(const char* text) const;
  std::string str() const { return std::string(data ? data : "", size); }
  void AssignTo(std::string* out) const { out->assign(data ? data : "", size); }
};

// A `bin` payload inside a decoded frame (little-endian numbers, possibly unaligned).
struct BinView {
  const uint8_t* data = nullptr;
  uint32_t size = 0;

  bool present() const { return data != nullptr; }
};

// What `hello.client` says about this client.
struct ClientInfo {
  std::string name = "merg-cpp";
  std::string version = "0.1.0";
  std::string engine = "cpp";
};

// `session.open` fields; nullptr leaves an optional field out.
struct SessionOpenFields {
  const char* rig = kDefaultRig;
  int fps = kDefaultFps;
  int sample_rate = kDefaultSampleRateHz;
  const char* voice = nullptr;
  const char* language = nullptr;
  const char* avatar = nullptr;  // a persona id (inline profiles are not offered here)
  const char* resume = nullptr;  // the sid of a session to re-attach
};

// Encodes one client message at a time into a reused buffer (no allocation once the
// buffer has grown to the largest message).
class Encoder {
 public:
  Encoder();
  ~Encoder();
  Encoder(const Encoder&) = delete;
  Encoder& operator=(const Encoder&) = delete;

  void Hello(int64_t seq, const ClientInfo& client);
  void Ping(int64_t seq, double t);
  void SessionOpen(int64_t seq, const SessionOpenFields& fields);
  void SessionClose(int64_t seq, const std::string& sid);
  // `emotion` nullptr and `intensity` < 0 leave those fields out (the server's defaults).
  void Say(int64_t seq, const std::string& sid, const std::string& text, const char* emotion,
           double intensity);
  void UserText(int64_t seq, const std::string& sid, const std::string& text);
  void Interrupt(int64_t seq, const std::string& sid);
  void Playback(int64_t seq, const std::string& sid, int64_t turn, double t);

  const uint8_t* data() const;
  size_t size() const;

 private:
  void Begin(const char* type, int64_t seq, uint32_t fields);
  void Str(const char* text);
  void Str(const char* text, size_t length);

  msgpack_sbuffer buffer_;
  msgpack_packer packer_;
};

enum class DecodeStatus : uint8_t {
  kOk = 0,
  kNotMessagePack,  // not one complete MessagePack object
  kNotMap,          // the object is not a map
  kBadEnvelope,     // `v` or `type` missing or of the wrong type
  kWrongVersion,    // `v` is an integer other than kProtocolVersion
  kUnknownType,     // a type this client does not know (ignore it)
  kBadField,        // a known type with a required field missing or of the wrong type
};

// `turn.end.stats`: nil timings are -1.
struct TurnStats {
  double first_audio_ms = -1;
  double first_face_ms = -1;
  double audio_s = 0;
  int64_t samples = 0;
  int64_t frames = 0;
  int64_t clauses = 0;
  double total_ms = 0;
  bool fallback = false;  // the avatar answered with its fallback line (user.text turns)
};

// One decoded server message. Which fields are set depends on `type`; the rest keep
// their defaults. Views point into the frame and the decoder (see Decoder).
struct ServerMessage {
  MessageType type = MessageType::kUnknown;
  StrView type_name;
  int64_t v = 0;
  int64_t seq = 0;
  bool has_seq = false;

  StrView sid;       // session messages
  int64_t turn = 0;  // turn messages

  // welcome
  const msgpack_object* server = nullptr;        // {name, version, tts}
  const msgpack_object* capabilities = nullptr;  // {rigs, voices, fps, ...}
  // pong
  double t = 0;
  double server_t = 0;
  // session.opened
  StrView rig_name;
  const msgpack_object* names = nullptr;  // array of str: the weights' column order
  int64_t fps = 0;
  int64_t sample_rate = 0;
  StrView voice;
  bool resumed = false;
  // session.closed (reason), turn.end (reason)
  StrView reason;
  // turn.start
  StrView source;
  int64_t ref = 0;  // also error.ref
  bool has_ref = false;
  // user.affect
  StrView emotion;  // also reply.emotion
  float vad[3] = {0, 0, 0};
  double confidence = 0;
  const msgpack_object* by = nullptr;
  StrView fine_emotion;
  StrView cause;
  // reasoning
  const msgpack_object* chain = nullptr;
  // safety
  StrView category;
  StrView severity;
  StrView matched;
  // reply
  StrView text;
  double intensity = 0;
  bool final = false;
  StrView strategy;
  int64_t t0 = 0;  // also audio.t0
  bool has_t0 = false;
  const msgpack_object* phonemes = nullptr;
  // audio
  BinView pcm;  // s16le mono
  // face
  int64_t f0 = 0;
  int64_t count = 0;
  BinView weights;  // float32 LE, count x names
  BinView head;     // float32 LE, count x 3, optional
  BinView eyes;     // float32 LE, count x 4, optional
  // turn.end
  TurnStats stats;
  const msgpack_object* stats_map = nullptr;
  // error
  StrView code;
  StrView message;

  const msgpack_object* root = nullptr;  // the whole map
};

// Decodes server frames. Keeps one msgpack zone and clears it per frame, so decoding a
// face or audio frame allocates nothing once the zone has its first chunk.
class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decode one frame into `out`. Views in `out` stay valid until the next call and as long
  // as `data` lives. On failure `error()` names the problem (a static string).
  DecodeStatus Decode(const void* data, size_t size, ServerMessage* out);
  const char* error() const { return error_; }

  // Decode any MessagePack object (for tools and tests): valid until the next call.
  const msgpack_object* DecodeObject(const void* data, size_t size);

 private:
  msgpack_zone zone_;
  msgpack_object object_;
  const char* error_ = "";
};

// --- msgpack object helpers (for maps the client passes on as they are) ---------------

// The value of `key` in a map object, or nullptr.
const msgpack_object* FindKey(const msgpack_object& map, const char* key);
// Appends a JSON rendering of `object` (bin payloads become {"bin": size}).
void AppendJson(const msgpack_object& object, std::string* out);
// The strings of an array object (non-strings are skipped).
void StringsOf(const msgpack_object& array, std::vector<std::string>* out);
// Re-encodes an object with msgpack_pack_object (same bytes for the formats Python uses).
void PackObject(const msgpack_object& object, std::vector<uint8_t>* out);

// Little-endian payload readers (alignment- and endianness-safe).
void ReadS16le(const uint8_t* in, size_t count, int16_t* out);
void ReadF32le(const uint8_t* in, size_t count, float* out);

}  // namespace merg
