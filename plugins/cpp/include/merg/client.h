// The MERG client: one DEALER connection to a MERG server, run by its own network thread.
//
// Threading. Every public method may be called from any thread (the game thread, usually)
// and never blocks on the network: requests go to the network thread through a bounded
// command queue, and what the server sends comes back through
//   * a bounded event queue (PollEvent, typically once per game tick),
//   * per-session jitter buffers (audio for the audio thread, face for the game thread),
//   * optional callbacks, which run on the network thread.
// When a session's buffer or the event queue is full, the network thread stops reading
// the socket until the host has made room, and the server holds the turn back; nothing
// is dropped. The receive path allocates nothing per message once warmed up: frames are
// decoded in place and copied straight into the preallocated rings.
//
// Sessions and requests have local ids (SessionId, RequestId) that survive reconnects: when
// the server restarts, the client reconnects with backoff, greets it again, resumes each
// session, or reopens it when the server has forgotten it (reported as session_lost).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "merg/codec.h"
#include "merg/jitter_buffer.h"
#include "merg/protocol.h"

namespace merg {

using SessionId = int32_t;   // 0: none
using RequestId = uint32_t;  // 0: none (the request was refused)

enum class ConnectionState : uint8_t {
  kStopped,     // not started, or stopped
  kConnecting,  // socket up, `hello` sent, waiting for `welcome`
  kReady,       // welcomed: requests flow
  kBackoff,     // the connection was lost; waiting to reconnect
  kFailed,      // gave up (protocol version mismatch, bad endpoint); Stop() and fix
};
const char* ConnectionStateName(ConnectionState state);

enum class EventType : uint8_t {
  kNone,
  kConnected,      // welcome received (again after a reconnect: `reconnects` > 0)
  kDisconnected,   // the connection was lost (code, message); the client reconnects
  kSessionOpened,  // opened, resumed, or reopened after the server forgot the session
  kSessionClosed,  // reason: "closed", "resumed_elsewhere", "open_failed", ...
  kTurnStart,
  kUserAffect,
  kReasoning,
  kSafety,
  kReply,
  kTurnEnd,
  kError,
  kPong,           // the answer to Ping() (heartbeat pongs are not reported)
};
const char* EventTypeName(EventType type);

// One thing that happened, for the host. Which fields are set depends on `type`.
struct Event {
  EventType type = EventType::kNone;
  SessionId session = 0;
  RequestId request = 0;  // the Say/SendText that started the turn, or that failed
  int turn = 0;
  bool local = false;      // raised by this client, not sent by the server
  bool discarded = false;  // of a turn this client dropped after Interrupt(): no audio or
                           // face of it is delivered; hosts usually skip its captions

  // kError, kDisconnected
  ErrorCode code = ErrorCode::kNone;
  std::string code_name;  // the server's code string, or the local code's name
  std::string message;

  // kConnected
  std::string server_name;
  std::string server_version;
  int reconnects = 0;

  // kSessionOpened
  std::string sid;
  std::string rig;
  std::vector<std::string> names;  // the weights' column order
  int fps = 0;
  int sample_rate = 0;
  std::string voice;
  bool resumed = false;   // the server re-attached the session (memory intact)
  bool reopened = false;  // the server had forgotten it: a new session (memory lost)

  // kSessionClosed, kTurnEnd
  std::string reason;
  // kTurnStart
  std::string source;  // "say", "user.text", ...
  // kReply, kUserAffect
  std::string text;
  std::string emotion;
  std::string strategy;
  float intensity = 0;
  bool final = false;
  int64_t t0 = -1;  // where the clause's audio starts (samples), -1 if not sent
  float vad[3] = {0, 0, 0};
  float confidence = 0;
  std::string fine_emotion;
  std::string cause;
  // kSafety
  std::string category;
  std::string severity;
  std::string matched;
  // kTurnEnd
  TurnStats stats;
  // kPong
  double t = 0;
  double server_t = 0;
  // JSON detail: kConnected capabilities, kReasoning chain, kUserAffect `by`, kTurnEnd
  // stats, kReply phonemes ([[ipa, start_s, end_s], ...]).
  std::string json;

  void Reset();  // clears every field, keeping string capacity
};

// Audio as it arrives (network thread), converted to native int16.
struct AudioChunk {
  SessionId session = 0;
  int turn = 0;
  int64_t t0 = 0;  // first sample's index on the turn timeline
  int sample_rate = 0;
  const int16_t* pcm = nullptr;
  size_t samples = 0;
};

// Face frames as they arrive (network thread), converted to native floats.
struct FaceBlock {
  SessionId session = 0;
  int turn = 0;
  int64_t f0 = 0;  // first frame's index on the turn timeline
  int fps = 0;
  int count = 0;
  int names = 0;
  const float* weights = nullptr;  // count x names
  const float* head = nullptr;     // count x 3 (pitch, yaw, roll), nullptr if not sent
  const float* eyes = nullptr;     // count x 4 (left pitch, left yaw, right pitch, right yaw)
};

// Run on the network thread: keep them short, never block, and call back into the
// Client only through its public methods.
struct Callbacks {
  std::function<void(const Event&)> on_event;  // every event, before it is queued
  std::function<void(const AudioChunk&)> on_audio;
  std::function<void(const FaceBlock&)> on_face;
  std::function<void()> on_thread_start;  // first thing on the network thread
  std::function<void()> on_thread_stop;   // last thing on it
};

struct ClientConfig {
  std::string endpoint = kDefaultEndpoint;
  ClientInfo client;  // sent in `hello`
  // CurveZMQ, as Z85 text (40 characters). Empty: plain TCP (loopback servers).
  std::string curve_server_key;
  std::string curve_public_key;
  std::string curve_secret_key;

  int handshake_timeout_ms = 5000;  // hello -> welcome; then the socket is recreated
  int request_timeout_ms = 15000;   // a request waiting for its session gives up
  int heartbeat_ms = 5000;          // ping when nothing was sent this long
  int liveness_ms = 15000;          // nothing received this long: the connection is lost
  int reconnect_min_ms = 250;       // reconnect backoff: doubles from min up to max
  int reconnect_max_ms = 5000;
  bool auto_reconnect = true;
  size_t event_queue = 512;    // PollEvent capacity; 0: events only reach on_event
  size_t command_queue = 256;  // requests waiting for the network thread
  int max_sessions = 8;        // the server's default per-client limit
  Callbacks callbacks;
};

struct SessionOptions {
  std::string rig = kDefaultRig;
  int fps = kDefaultFps;
  int sample_rate = kDefaultSampleRateHz;
  std::string voice;     // "": the server's default (or the persona's)
  std::string language;  // "": not sent
  std::string avatar;    // a persona id; "": the server's default persona
  // Re-attach a session opened earlier (a sid saved by a previous run, say): its persona and
  // memory carry on. If the server no longer has it (or another live client owns it), the
  // server's unknown_session error is reported and the session closes (`open_failed`).
  std::string resume_sid;
  bool buffer = true;    // feed a JitterBuffer (turn off when only callbacks consume data)
  JitterConfig jitter;
};

// What the host can read about a session at any time.
struct SessionInfo {
  SessionId id = 0;
  bool open = false;  // opened and usable now
  std::string sid;
  std::string rig;
  std::vector<std::string> names;
  int fps = 0;
  int sample_rate = 0;
  std::string voice;
};

// What `welcome` said.
struct ServerInfo {
  std::string name;
  std::string version;
  std::vector<std::string> rigs;
  std::vector<std::string> voices;
  std::vector<std::string> emotions;
  std::vector<std::string> features;
  std::vector<int> fps;
  std::vector<int> sample_rates;
  std::string capabilities_json;
};

struct ClientStats {
  uint64_t messages_received = 0;
  uint64_t bytes_received = 0;
  uint64_t messages_sent = 0;
  uint64_t reconnects = 0;
  uint64_t stalls = 0;          // times the network thread waited for the host to make room
  uint64_t events_dropped = 0;  // local events lost to a full event queue
};

class Client {
 public:
  explicit Client(ClientConfig config = ClientConfig());
  ~Client();  // Stop()
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Start the network thread, which connects and greets the server. False if already
  // started or ZeroMQ could not be set up.
  bool Start();
  // Stop the network thread promptly (sockets close with linger 0) and join it.
  void Stop();
  ConnectionState state() const;
  bool ready() const { return state() == ConnectionState::kReady; }

  // Open a session (sent when connected). Returns its id, or 0 if max_sessions are in use
  // or the command queue is full.
  SessionId OpenSession(const SessionOptions& options = SessionOptions());
  bool CloseSession(SessionId session);

  // Turn requests: each returns a RequestId (0 if refused) that the turn's kTurnStart and
  // any kError about it carry. Sent at once when the session is open, otherwise when it
  // opens (or given up with `timeout` after request_timeout_ms).
  RequestId Say(SessionId session, const std::string& text, const std::string& emotion = "",
                float intensity = -1.0f);
  RequestId SendText(SessionId session, const std::string& text);
  // Barge-in: drops the session's buffered playback now, and everything of the turns
  // requested so far as it arrives; the server ends the running turn (`interrupted`).
  bool Interrupt(SessionId session);
  // How far the user has heard a turn (seconds); a few times a second while it plays.
  bool ReportPlayback(SessionId session, int turn, double heard_s);
  // A `ping`; its `pong` comes back as kPong.
  bool Ping();

  // The next event, if any (copy-assigned into `out`, so reuse one Event).
  bool PollEvent(Event* out);

  // The session's jitter buffer (nullptr without one). Valid for as long as you hold it.
  std::shared_ptr<JitterBuffer> Buffer(SessionId session) const;
  bool GetSessionInfo(SessionId session, SessionInfo* out) const;
  ServerInfo GetServerInfo() const;
  ClientStats GetStats() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace merg
