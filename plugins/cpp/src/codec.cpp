// MessagePack codec for the MERG protocol on msgpack-c's C API.
#include "merg/codec.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace merg {
namespace {

// 64 KiB holds the objects of every face/audio frame and of replies with a few hundred
// phonemes, so the zone never grows on the hot path (bins and strings are referenced in
// the frame, not copied).
constexpr size_t kZoneChunkBytes = 64 * 1024;

bool IsInt(const msgpack_object& o) {
  return o.type == MSGPACK_OBJECT_POSITIVE_INTEGER || o.type == MSGPACK_OBJECT_NEGATIVE_INTEGER;
}

bool IsFloat(const msgpack_object& o) {
  return o.type == MSGPACK_OBJECT_FLOAT32 || o.type == MSGPACK_OBJECT_FLOAT64;
}

int64_t AsInt(const msgpack_object& o) {
  return o.type == MSGPACK_OBJECT_POSITIVE_INTEGER ? static_cast<int64_t>(o.via.u64) : o.via.i64;
}

double AsNumber(const msgpack_object& o) {
  if (IsFloat(o)) return o.via.f64;
  return static_cast<double>(AsInt(o));
}

// Field readers over a map. Each returns false when a *required* field is missing or has
// the wrong type; optional readers leave the output alone when the field is absent or nil.
class Fields {
 public:
  explicit Fields(const msgpack_object& map) : map_(map) {}

  const msgpack_object* Get(const char* key) const {
    const msgpack_object* value = FindKey(map_, key);
    return (value != nullptr && value->type != MSGPACK_OBJECT_NIL) ? value : nullptr;
  }

  bool Int(const char* key, int64_t* out, bool required, bool* present = nullptr) const {
    const msgpack_object* value = Get(key);
    if (present != nullptr) *present = false;
    if (value == nullptr) return !required;
    if (!IsInt(*value)) return false;
    *out = AsInt(*value);
    if (present != nullptr) *present = true;
    return true;
  }

  bool Number(const char* key, double* out, bool required) const {
    const msgpack_object* value = Get(key);
    if (value == nullptr) return !required;
    if (!IsInt(*value) && !IsFloat(*value)) return false;
    *out = AsNumber(*value);
    return true;
  }

  // Timings in turn.end.stats may be nil: -1 then.
  bool NumberOrNil(const char* key, double* out) const {
    const msgpack_object* value = FindKey(map_, key);
    if (value == nullptr || value->type == MSGPACK_OBJECT_NIL) {
      *out = -1;
      return true;
    }
    return Number(key, out, true);
  }

  bool Bool(const char* key, bool* out, bool required) const {
    const msgpack_object* value = Get(key);
    if (value == nullptr) return !required;
    if (value->type != MSGPACK_OBJECT_BOOLEAN) return false;
    *out = value->via.boolean;
    return true;
  }

  bool Str(const char* key, StrView* out, bool required) const {
    const msgpack_object* value = Get(key);
    if (value == nullptr) return !required;
    if (value->type != MSGPACK_OBJECT_STR) return false;
    out->data = value->via.str.ptr;
    out->size = value->via.str.size;
    return true;
  }

  bool Bin(const char* key, BinView* out, bool required) const {
    const msgpack_object* value = Get(key);
    if (value == nullptr) return !required;
    if (value->type != MSGPACK_OBJECT_BIN) return false;
    out->data = reinterpret_cast<const uint8_t*>(value->via.bin.ptr);
    out->size = value->via.bin.size;
    return true;
  }

  bool Object(const char* key, msgpack_object_type type, const msgpack_object** out,
              bool required) const {
    const msgpack_object* value = Get(key);
    if (value == nullptr) return !required;
    if (value->type != type) return false;
    *out = value;
    return true;
  }

 private:
  const msgpack_object& map_;
};

bool DecodeBody(const Fields& f, ServerMessage* m) {
  switch (m->type) {
    case MessageType::kWelcome:
      return f.Object("server", MSGPACK_OBJECT_MAP, &m->server, true) &&
             f.Object("capabilities", MSGPACK_OBJECT_MAP, &m->capabilities, true);
    case MessageType::kPong:
      return f.Number("t", &m->t, true) && f.Number("server_t", &m->server_t, true);
    case MessageType::kSessionOpened: {
      const msgpack_object* rig = nullptr;
      if (!f.Str("sid", &m->sid, true) || !f.Object("rig", MSGPACK_OBJECT_MAP, &rig, true) ||
          !f.Int("fps", &m->fps, true) || !f.Int("sample_rate", &m->sample_rate, true) ||
          !f.Str("voice", &m->voice, true) || !f.Bool("resumed", &m->resumed, false)) {
        return false;
      }
      Fields r(*rig);
      return r.Str("name", &m->rig_name, true) &&
             r.Object("names", MSGPACK_OBJECT_ARRAY, &m->names, true);
    }
    case MessageType::kSessionClosed:
      return f.Str("sid", &m->sid, true) && f.Str("reason", &m->reason, false);
    case MessageType::kTurnStart:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Str("source", &m->source, true) && f.Int("ref", &m->ref, false, &m->has_ref);
    case MessageType::kUserAffect: {
      const msgpack_object* vad = nullptr;
      if (!f.Str("sid", &m->sid, true) || !f.Int("turn", &m->turn, true) ||
          !f.Str("emotion", &m->emotion, true) ||
          !f.Object("vad", MSGPACK_OBJECT_ARRAY, &vad, true) ||
          !f.Number("confidence", &m->confidence, true) ||
          !f.Object("by", MSGPACK_OBJECT_MAP, &m->by, false) ||
          !f.Str("fine_emotion", &m->fine_emotion, false) || !f.Str("cause", &m->cause, false)) {
        return false;
      }
      for (uint32_t i = 0; i < vad->via.array.size && i < 3; ++i) {
        const msgpack_object& x = vad->via.array.ptr[i];
        if (!IsInt(x) && !IsFloat(x)) return false;
        m->vad[i] = static_cast<float>(AsNumber(x));
      }
      return true;
    }
    case MessageType::kReasoning:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Object("chain", MSGPACK_OBJECT_MAP, &m->chain, false);
    case MessageType::kSafety:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Str("category", &m->category, true) && f.Str("severity", &m->severity, true) &&
             f.Str("matched", &m->matched, true);
    case MessageType::kReply:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Str("text", &m->text, true) && f.Str("emotion", &m->emotion, true) &&
             f.Number("intensity", &m->intensity, true) && f.Bool("final", &m->final, true) &&
             f.Str("strategy", &m->strategy, false) && f.Int("t0", &m->t0, false, &m->has_t0) &&
             f.Object("phonemes", MSGPACK_OBJECT_ARRAY, &m->phonemes, false);
    case MessageType::kAudio:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Int("t0", &m->t0, true, &m->has_t0) &&
             f.Int("sample_rate", &m->sample_rate, true) && f.Bin("pcm", &m->pcm, true);
    case MessageType::kFace:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Int("f0", &m->f0, true) && f.Int("fps", &m->fps, true) &&
             f.Int("count", &m->count, true) && f.Bin("weights", &m->weights, true) &&
             f.Bin("head", &m->head, false) && f.Bin("eyes", &m->eyes, false);
    case MessageType::kFlame:
      return f.Str("sid", &m->sid, true) && f.Int("turn", &m->turn, true) &&
             f.Int("f0", &m->f0, true) && f.Int("fps", &m->fps, true) &&
             f.Int("count", &m->count, true);
    case MessageType::kTurnEnd: {
      if (!f.Str("sid", &m->sid, true) || !f.Int("turn", &m->turn, true) ||
          !f.Str("reason", &m->reason, true) ||
          !f.Object("stats", MSGPACK_OBJECT_MAP, &m->stats_map, false)) {
        return false;
      }
      if (m->stats_map == nullptr) return true;
      Fields s(*m->stats_map);
      TurnStats& st = m->stats;
      return s.NumberOrNil("first_audio_ms", &st.first_audio_ms) &&
             s.NumberOrNil("first_face_ms", &st.first_face_ms) &&
             s.Number("audio_s", &st.audio_s, false) && s.Int("samples", &st.samples, false) &&
             s.Int("frames", &st.frames, false) && s.Int("clauses", &st.clauses, false) &&
             s.Number("total_ms", &st.total_ms, false) && s.Bool("fallback", &st.fallback, false);
    }
    case MessageType::kError:
      return f.Str("code", &m->code, true) && f.Str("message", &m->message, true) &&
             f.Int("ref", &m->ref, false, &m->has_ref) && f.Str("sid", &m->sid, false);
    default:
      return true;  // client message types: nothing a client needs to read
  }
}

void AppendNumber(double value, std::string* out) {
  if (!std::isfinite(value)) {
    out->append("null");
    return;
  }
  char text[32];
  // The shortest of %.15g/%.17g that reads back as the same double.
  std::snprintf(text, sizeof text, "%.15g", value);
  if (std::strtod(text, nullptr) != value) std::snprintf(text, sizeof text, "%.17g", value);
  out->append(text);
}

void AppendJsonString(const char* data, size_t size, std::string* out) {
  out->push_back('"');
  for (size_t i = 0; i < size; ++i) {
    const unsigned char c = static_cast<unsigned char>(data[i]);
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char escaped[8];
          std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
          out->append(escaped);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

int WriteToVector(void* data, const char* buf, size_t len) {
  auto* out = static_cast<std::vector<uint8_t>*>(data);
  out->insert(out->end(), reinterpret_cast<const uint8_t*>(buf),
              reinterpret_cast<const uint8_t*>(buf) + len);
  return 0;
}

}  // namespace

bool StrView::Equals(const char* text) const {
  const size_t length = std::strlen(text);
  return data != nullptr && length == size && std::memcmp(data, text, size) == 0;
}

// --- Encoder -------------------------------------------------------------------------------

Encoder::Encoder() {
  msgpack_sbuffer_init(&buffer_);
  msgpack_packer_init(&packer_, &buffer_, msgpack_sbuffer_write);
}

Encoder::~Encoder() { msgpack_sbuffer_destroy(&buffer_); }

const uint8_t* Encoder::data() const { return reinterpret_cast<const uint8_t*>(buffer_.data); }

size_t Encoder::size() const { return buffer_.size; }

void Encoder::Str(const char* text) { Str(text, std::strlen(text)); }

void Encoder::Str(const char* text, size_t length) {
  msgpack_pack_str(&packer_, length);
  msgpack_pack_str_body(&packer_, text, length);
}

void Encoder::Begin(const char* type, int64_t seq, uint32_t fields) {
  msgpack_sbuffer_clear(&buffer_);
  msgpack_pack_map(&packer_, 3 + fields);
  Str("v");
  msgpack_pack_int64(&packer_, kProtocolVersion);
  Str("type");
  Str(type);
  Str("seq");
  msgpack_pack_int64(&packer_, seq);
}

void Encoder::Hello(int64_t seq, const ClientInfo& client) {
  Begin("hello", seq, 1);
  Str("client");
  msgpack_pack_map(&packer_, 3);
  Str("name");
  Str(client.name.data(), client.name.size());
  Str("version");
  Str(client.version.data(), client.version.size());
  Str("engine");
  Str(client.engine.data(), client.engine.size());
}

void Encoder::Ping(int64_t seq, double t) {
  Begin("ping", seq, 1);
  Str("t");
  msgpack_pack_double(&packer_, t);
}

void Encoder::SessionOpen(int64_t seq, const SessionOpenFields& fields) {
  const char* optional[] = {fields.voice, fields.language, fields.avatar, fields.resume};
  const char* keys[] = {"voice", "language", "avatar", "resume"};
  uint32_t count = 3;
  for (const char* value : optional) count += value != nullptr ? 1 : 0;
  Begin("session.open", seq, count);
  Str("rig");
  Str(fields.rig);
  Str("fps");
  msgpack_pack_int64(&packer_, fields.fps);
  Str("sample_rate");
  msgpack_pack_int64(&packer_, fields.sample_rate);
  for (size_t i = 0; i < 4; ++i) {
    if (optional[i] == nullptr) continue;
    Str(keys[i]);
    Str(optional[i]);
  }
}

void Encoder::SessionClose(int64_t seq, const std::string& sid) {
  Begin("session.close", seq, 1);
  Str("sid");
  Str(sid.data(), sid.size());
}

void Encoder::Say(int64_t seq, const std::string& sid, const std::string& text,
                  const char* emotion, double intensity) {
  const bool has_intensity = intensity >= 0;
  Begin("say", seq, 2u + (emotion != nullptr ? 1u : 0u) + (has_intensity ? 1u : 0u));
  Str("sid");
  Str(sid.data(), sid.size());
  Str("text");
  Str(text.data(), text.size());
  if (emotion != nullptr) {
    Str("emotion");
    Str(emotion);
  }
  if (has_intensity) {
    Str("intensity");
    msgpack_pack_double(&packer_, intensity);
  }
}

void Encoder::UserText(int64_t seq, const std::string& sid, const std::string& text) {
  Begin("user.text", seq, 2);
  Str("sid");
  Str(sid.data(), sid.size());
  Str("text");
  Str(text.data(), text.size());
}

void Encoder::Interrupt(int64_t seq, const std::string& sid) {
  Begin("interrupt", seq, 1);
  Str("sid");
  Str(sid.data(), sid.size());
}

void Encoder::Playback(int64_t seq, const std::string& sid, int64_t turn, double t) {
  Begin("playback", seq, 3);
  Str("sid");
  Str(sid.data(), sid.size());
  Str("turn");
  msgpack_pack_int64(&packer_, turn);
  Str("t");
  msgpack_pack_double(&packer_, t);
}

// --- Decoder -------------------------------------------------------------------------------

Decoder::Decoder() {
  msgpack_zone_init(&zone_, kZoneChunkBytes);
  std::memset(&object_, 0, sizeof object_);
}

Decoder::~Decoder() { msgpack_zone_destroy(&zone_); }

const msgpack_object* Decoder::DecodeObject(const void* data, size_t size) {
  msgpack_zone_clear(&zone_);
  size_t offset = 0;
  // msgpack_unpack_next would allocate a fresh zone per frame; msgpack_unpack into our own
  // zone reuses its chunk, and references strings and bins inside `data`.
  const msgpack_unpack_return result =
      msgpack_unpack(static_cast<const char*>(data), size, &offset, &zone_, &object_);
  if (result != MSGPACK_UNPACK_SUCCESS) {
    error_ = result == MSGPACK_UNPACK_EXTRA_BYTES ? "trailing bytes after the map"
                                                  : "not MessagePack";
    return nullptr;
  }
  return &object_;
}

DecodeStatus Decoder::Decode(const void* data, size_t size, ServerMessage* out) {
  *out = ServerMessage();
  const msgpack_object* root = DecodeObject(data, size);
  if (root == nullptr) return DecodeStatus::kNotMessagePack;
  if (root->type != MSGPACK_OBJECT_MAP) {
    error_ = "a message must be a map";
    return DecodeStatus::kNotMap;
  }
  out->root = root;
  Fields f(*root);
  const msgpack_object* v = FindKey(*root, "v");
  if (v == nullptr || !IsInt(*v)) {
    error_ = "missing or non-integer 'v'";
    return DecodeStatus::kBadEnvelope;
  }
  out->v = AsInt(*v);
  f.Int("seq", &out->seq, false, &out->has_seq);
  if (out->v != kProtocolVersion) {
    error_ = "another protocol version";
    return DecodeStatus::kWrongVersion;
  }
  if (!f.Str("type", &out->type_name, true)) {
    error_ = "missing or non-string 'type'";
    return DecodeStatus::kBadEnvelope;
  }
  out->type = ParseMessageType(out->type_name.data, out->type_name.size);
  if (out->type == MessageType::kUnknown) {
    error_ = "unknown message type";
    return DecodeStatus::kUnknownType;
  }
  if (!DecodeBody(f, out)) {
    error_ = "a required field is missing or has the wrong type";
    return DecodeStatus::kBadField;
  }
  return DecodeStatus::kOk;
}

// --- object helpers ------------------------------------------------------------------------

const msgpack_object* FindKey(const msgpack_object& map, const char* key) {
  if (map.type != MSGPACK_OBJECT_MAP) return nullptr;
  const size_t length = std::strlen(key);
  for (uint32_t i = 0; i < map.via.map.size; ++i) {
    const msgpack_object& k = map.via.map.ptr[i].key;
    if (k.type == MSGPACK_OBJECT_STR && k.via.str.size == length &&
        std::memcmp(k.via.str.ptr, key, length) == 0) {
      return &map.via.map.ptr[i].val;
    }
  }
  return nullptr;
}

void AppendJson(const msgpack_object& o, std::string* out) {
  switch (o.type) {
    case MSGPACK_OBJECT_NIL:
      out->append("null");
      break;
    case MSGPACK_OBJECT_BOOLEAN:
      out->append(o.via.boolean ? "true" : "false");
      break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: {
      char text[24];
      if (o.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        std::snprintf(text, sizeof text, "%llu", static_cast<unsigned long long>(o.via.u64));
      } else {
        std::snprintf(text, sizeof text, "%lld", static_cast<long long>(o.via.i64));
      }
      out->append(text);
      break;
    }
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
      AppendNumber(o.via.f64, out);
      break;
    case MSGPACK_OBJECT_STR:
      AppendJsonString(o.via.str.ptr, o.via.str.size, out);
      break;
    case MSGPACK_OBJECT_BIN: {
      char text[48];
      std::snprintf(text, sizeof text, "{\"bin\":%u}", o.via.bin.size);
      out->append(text);
      break;
    }
    case MSGPACK_OBJECT_ARRAY:
      out->push_back('[');
      for (uint32_t i = 0; i < o.via.array.size; ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(o.via.array.ptr[i], out);
      }
      out->push_back(']');
      break;
    case MSGPACK_OBJECT_MAP:
      out->push_back('{');
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        if (i > 0) out->push_back(',');
        const msgpack_object& key = o.via.map.ptr[i].key;
        if (key.type == MSGPACK_OBJECT_STR) {
          AppendJsonString(key.via.str.ptr, key.via.str.size, out);
        } else {
          std::string text;
          AppendJson(key, &text);
          AppendJsonString(text.data(), text.size(), out);
        }
        out->push_back(':');
        AppendJson(o.via.map.ptr[i].val, out);
      }
      out->push_back('}');
      break;
    default:
      out->append("null");
  }
}

void StringsOf(const msgpack_object& array, std::vector<std::string>* out) {
  out->clear();
  if (array.type != MSGPACK_OBJECT_ARRAY) return;
  for (uint32_t i = 0; i < array.via.array.size; ++i) {
    const msgpack_object& item = array.via.array.ptr[i];
    if (item.type == MSGPACK_OBJECT_STR) out->emplace_back(item.via.str.ptr, item.via.str.size);
  }
}

void PackObject(const msgpack_object& object, std::vector<uint8_t>* out) {
  out->clear();
  msgpack_packer packer;
  msgpack_packer_init(&packer, out, WriteToVector);
  msgpack_pack_object(&packer, object);
}

void ReadS16le(const uint8_t* in, size_t count, int16_t* out) {
  for (size_t i = 0; i < count; ++i) {
    const uint16_t bits = static_cast<uint16_t>(in[2 * i] | (in[2 * i + 1] << 8));
    out[i] = static_cast<int16_t>(bits);
  }
}

void ReadF32le(const uint8_t* in, size_t count, float* out) {
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* b = in + 4 * i;
    const uint32_t bits = static_cast<uint32_t>(b[0]) | (static_cast<uint32_t>(b[1]) << 8) |
                          (static_cast<uint32_t>(b[2]) << 16) | (static_cast<uint32_t>(b[3]) << 24);
    std::memcpy(&out[i], &bits, sizeof bits);
  }
}

}  // namespace merg
