// The MERG client: the host-facing API and the network thread behind it.
//
// The network thread owns the DEALER socket, its monitor and all protocol state. Host
// threads talk to it through a bounded command queue plus a wake-up socket; it answers
// through the event queue, the sessions' jitter buffers and the callbacks.
#include "merg/client.h"

#include <zmq.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "merg/queue.h"

namespace merg {
// A named namespace, not an anonymous one: Client::Impl has members of these types, and
// in a unity build (Unreal's) that must not give Impl internal-linkage members.
namespace client_internal {

int64_t NowMs() {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  using std::chrono::steady_clock;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

double WallClockS() {
  using std::chrono::duration;
  using std::chrono::system_clock;
  return duration<double>(system_clock::now().time_since_epoch()).count();
}

constexpr size_t kSentHistory = 256;    // requests remembered for matching `ref`s
constexpr int kReceiveBatch = 256;      // frames read per loop before commands are checked
constexpr int kMaxPollMs = 100;
constexpr int kStalledPollMs = 2;       // how often a stalled thread looks for room
constexpr size_t kEventsPerFrame = 3;   // the most events one frame can raise

enum class CommandKind : uint8_t { kOpen, kClose, kSay, kUserText, kInterrupt, kPlayback, kPing };

struct Command {
  CommandKind kind = CommandKind::kPing;
  SessionId session = 0;
  RequestId request = 0;
  std::string text;
  std::string emotion;
  double intensity = -1;
  int turn = 0;
  double t = 0;
  RequestId discard_through = 0;
  int64_t queued_ms = 0;
  // kOpen: the session's options and its buffer (made on the host thread)
  SessionOptions options;
  std::shared_ptr<JitterBuffer> buffer;
};

// What was sent, to match `ref` in errors and turn.start back to local ids.
struct Sent {
  int64_t seq = 0;
  RequestId request = 0;
  SessionId session = 0;
  CommandKind kind = CommandKind::kPing;
  bool resume = false;
};

enum class SlotState : uint8_t {
  kFree,
  kOpening,   // session.open to send or sent
  kOpen,
  kResuming,  // had a sid; session.open{resume} to send or sent
  kClosing,
};

void PrepareEvent(Event* event) {
  event->message.reserve(256);
  event->text.reserve(512);
  event->json.reserve(4096);
  event->code_name.reserve(32);
  event->emotion.reserve(32);
  event->strategy.reserve(48);
  event->reason.reserve(32);
  event->source.reserve(16);
  event->sid.reserve(32);
  event->fine_emotion.reserve(32);
  event->cause.reserve(64);
  event->category.reserve(32);
  event->severity.reserve(16);
  event->matched.reserve(64);
}

}  // namespace client_internal

using namespace client_internal;  // NOLINT: this file's own helpers

const char* ConnectionStateName(ConnectionState state) {
  switch (state) {
    case ConnectionState::kStopped:
      return "stopped";
    case ConnectionState::kConnecting:
      return "connecting";
    case ConnectionState::kReady:
      return "ready";
    case ConnectionState::kBackoff:
      return "backoff";
    case ConnectionState::kFailed:
      return "failed";
  }
  return "";
}

const char* EventTypeName(EventType type) {
  switch (type) {
    case EventType::kNone:
      return "none";
    case EventType::kConnected:
      return "connected";
    case EventType::kDisconnected:
      return "disconnected";
    case EventType::kSessionOpened:
      return "session.opened";
    case EventType::kSessionClosed:
      return "session.closed";
    case EventType::kTurnStart:
      return "turn.start";
    case EventType::kUserAffect:
      return "user.affect";
    case EventType::kReasoning:
      return "reasoning";
    case EventType::kSafety:
      return "safety";
    case EventType::kReply:
      return "reply";
    case EventType::kTurnEnd:
      return "turn.end";
    case EventType::kError:
      return "error";
    case EventType::kPong:
      return "pong";
  }
  return "";
}

void Event::Reset() {
  type = EventType::kNone;
  session = 0;
  request = 0;
  turn = 0;
  local = false;
  discarded = false;
  code = ErrorCode::kNone;
  code_name.clear();
  message.clear();
  server_name.clear();
  server_version.clear();
  reconnects = 0;
  sid.clear();
  rig.clear();
  names.clear();
  fps = 0;
  sample_rate = 0;
  voice.clear();
  resumed = false;
  reopened = false;
  reason.clear();
  source.clear();
  text.clear();
  emotion.clear();
  strategy.clear();
  intensity = 0;
  final = false;
  t0 = -1;
  vad[0] = vad[1] = vad[2] = 0;
  confidence = 0;
  fine_emotion.clear();
  cause.clear();
  category.clear();
  severity.clear();
  matched.clear();
  stats = TurnStats();
  t = 0;
  server_t = 0;
  json.clear();
}

class Client::Impl {
 public:
  explicit Impl(ClientConfig config)
      : config_(std::move(config)),
        commands_(config_.command_queue),
        events_(config_.event_queue > 0 ? config_.event_queue : 1, PrepareEvent),
        slots_(static_cast<size_t>((std::max)(1, config_.max_sessions))) {
    deferred_.reserve(config_.command_queue);
    event_.names.reserve(64);
    PrepareEvent(&event_);
  }

  ~Impl() { Stop(); }

  // --- host side ---------------------------------------------------------------------------

  bool Start() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (thread_.joinable()) return false;
    context_ = zmq_ctx_new();
    if (context_ == nullptr) return false;
    zmq_ctx_set(context_, ZMQ_BLOCKY, 0);  // sockets linger 0, zmq_ctx_term never waits
    char endpoint[64];
    std::snprintf(endpoint, sizeof endpoint, "inproc://merg-wake-%p", static_cast<void*>(this));
    {
      std::lock_guard<std::mutex> wake_lock(wake_mutex_);
      wake_receiver_ = zmq_socket(context_, ZMQ_PAIR);
      wake_sender_ = zmq_socket(context_, ZMQ_PAIR);
      if (wake_receiver_ == nullptr || wake_sender_ == nullptr ||
          zmq_bind(wake_receiver_, endpoint) != 0 || zmq_connect(wake_sender_, endpoint) != 0) {
        CloseSocket(&wake_receiver_);
        CloseSocket(&wake_sender_);
        zmq_ctx_term(context_);
        context_ = nullptr;
        return false;
      }
    }
    stop_.store(false);
    state_.store(ConnectionState::kConnecting);
    thread_ = std::thread([this] { Run(); });
    return true;
  }

  void Stop() {
    std::lock_guard<std::mutex> lock(lifecycle_mutex_);
    if (!thread_.joinable()) return;
    stop_.store(true);
    Wake();
    thread_.join();
    {
      std::lock_guard<std::mutex> wake_lock(wake_mutex_);
      CloseSocket(&wake_sender_);
    }
    zmq_ctx_term(context_);
    context_ = nullptr;
    state_.store(ConnectionState::kStopped);
  }

  ConnectionState state() const { return state_.load(); }

  SessionId OpenSession(const SessionOptions& options) {
    // Slots belong to the network thread; here only the id, the count and the buffer.
    if (sessions_in_use_.fetch_add(1) >= config_.max_sessions) {
      sessions_in_use_.fetch_sub(1);
      return 0;
    }
    Command command;
    command.kind = CommandKind::kOpen;
    command.options = options;
    if (options.buffer) command.buffer = std::make_shared<JitterBuffer>(options.jitter);
    {
      std::lock_guard<std::mutex> lock(slots_mutex_);
      command.session = ++last_session_id_;
      opening_.push_back(Opening{command.session, command.buffer});
    }
    const SessionId id = command.session;
    if (!Enqueue(std::move(command))) {
      std::lock_guard<std::mutex> lock(slots_mutex_);
      ForgetOpeningLocked(id);
      sessions_in_use_.fetch_sub(1);
      return 0;
    }
    return id;
  }

  bool CloseSession(SessionId session) {
    Command command;
    command.kind = CommandKind::kClose;
    command.session = session;
    return Enqueue(std::move(command));
  }

  RequestId Request(CommandKind kind, SessionId session, const std::string& text,
                    const std::string& emotion, double intensity) {
    Command command;
    command.kind = kind;
    command.session = session;
    command.text = text;
    command.emotion = emotion;
    command.intensity = intensity;
    command.request = ++last_request_;
    const RequestId request = command.request;
    return Enqueue(std::move(command)) ? request : 0;
  }

  bool Interrupt(SessionId session) {
    std::shared_ptr<JitterBuffer> buffer = Buffer(session);
    if (buffer) buffer->Interrupt();  // playback stops at the next audio read
    Command command;
    command.kind = CommandKind::kInterrupt;
    command.session = session;
    command.discard_through = last_request_.load();
    return Enqueue(std::move(command));
  }

  bool ReportPlayback(SessionId session, int turn, double heard_s) {
    Command command;
    command.kind = CommandKind::kPlayback;
    command.session = session;
    command.turn = turn;
    command.t = heard_s;
    return Enqueue(std::move(command));
  }

  bool Ping() {
    Command command;
    command.kind = CommandKind::kPing;
    return Enqueue(std::move(command));
  }

  bool PollEvent(Event* out) { return config_.event_queue > 0 && events_.Pop(out); }

  std::shared_ptr<JitterBuffer> Buffer(SessionId session) const {
    std::lock_guard<std::mutex> lock(slots_mutex_);
    const Slot* slot = SlotById(session);
    if (slot != nullptr) return slot->buffer;
    for (const Opening& opening : opening_) {
      if (opening.session == session) return opening.buffer;
    }
    return nullptr;
  }

  bool GetSessionInfo(SessionId session, SessionInfo* out) const {
    std::lock_guard<std::mutex> lock(slots_mutex_);
    const Slot* slot = SlotById(session);
    if (slot == nullptr) return false;
    out->id = slot->id;
    out->open = slot->state == SlotState::kOpen;
    out->sid = slot->sid;
    out->rig = slot->rig;
    out->names = slot->names;
    out->fps = slot->fps;
    out->sample_rate = slot->sample_rate;
    out->voice = slot->voice;
    return true;
  }

  ServerInfo GetServerInfo() const {
    std::lock_guard<std::mutex> lock(server_mutex_);
    return server_;
  }

  ClientStats GetStats() const {
    ClientStats stats;
    stats.messages_received = messages_received_.load();
    stats.bytes_received = bytes_received_.load();
    stats.messages_sent = messages_sent_.load();
    stats.reconnects = reconnects_.load();
    stats.stalls = stalls_.load();
    stats.events_dropped = events_dropped_.load();
    return stats;
  }

 private:
  struct Slot {
    // Shared with host threads (slots_mutex_).
    SessionId id = 0;
    SlotState state = SlotState::kFree;
    SessionOptions options;
    std::shared_ptr<JitterBuffer> buffer;
    std::string sid;
    std::string rig;
    std::vector<std::string> names;
    int fps = 0;
    int sample_rate = 0;
    std::string voice;
    // Network thread only.
    bool open_sent = false;
    bool close_requested = false;
    bool reopening = false;  // the resume failed; a fresh open is on its way
    bool host_resume = false;  // the host asked to resume options.resume_sid (not yet open)
    RequestId discard_through = 0;
    int active_turn = 0;
    RequestId active_request = 0;
    bool active_discarded = false;
    bool turn_running = false;
    bool gap_reported = false;
    int64_t next_t0 = 0;
    int64_t next_f0 = 0;
  };

  // --- helpers shared by both sides -----------------------------------------------------

  Slot* SlotById(SessionId id) {
    if (id == 0) return nullptr;
    for (Slot& slot : slots_) {
      if (slot.id == id) return &slot;
    }
    return nullptr;
  }

  const Slot* SlotById(SessionId id) const {
    if (id == 0) return nullptr;
    for (const Slot& slot : slots_) {
      if (slot.id == id) return &slot;
    }
    return nullptr;
  }

  static void CloseSocket(void** socket) {
    if (*socket == nullptr) return;
    int linger = 0;
    zmq_setsockopt(*socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(*socket);
    *socket = nullptr;
  }

  // Commands sent before Start() wait in the queue for the thread.
  bool Enqueue(Command&& command) {
    command.queued_ms = NowMs();
    if (!commands_.Push(command)) return false;
    Wake();
    return true;
  }

  void Wake() {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    if (wake_sender_ != nullptr) zmq_send(wake_sender_, "", 0, ZMQ_DONTWAIT);
  }

  // --- the network thread ----------------------------------------------------------------

  void Run() {
    if (config_.callbacks.on_thread_start) config_.callbacks.on_thread_start();
    zmq_msg_init(&frame_);
    Connect();
    while (!stop_.load()) {
      const int64_t now = NowMs();
      zmq_pollitem_t items[3];
      int count = 0;
      items[count++] = {wake_receiver_, 0, ZMQ_POLLIN, 0};
      int dealer_at = -1;
      int monitor_at = -1;
      if (dealer_ != nullptr && !has_pending_) {
        items[count] = {dealer_, 0, ZMQ_POLLIN, 0};
        dealer_at = count++;
      }
      if (monitor_ != nullptr) {
        items[count] = {monitor_, 0, ZMQ_POLLIN, 0};
        monitor_at = count++;
      }
      const int rc = zmq_poll(items, count, PollTimeout(now));
      if (rc < 0) {
        if (zmq_errno() == ETERM) break;
        continue;  // EINTR
      }
      if (items[0].revents & ZMQ_POLLIN) DrainWake();
      ProcessCommands();
      if (has_pending_ || (dealer_at >= 0 && (items[dealer_at].revents & ZMQ_POLLIN))) {
        Receive();
      }
      if (monitor_at >= 0 && monitor_ != nullptr && (items[monitor_at].revents & ZMQ_POLLIN)) {
        ProcessMonitor();
      }
      Timers(NowMs());
    }
    DropPending();
    zmq_msg_close(&frame_);
    CloseConnection();
    // After a restart (Start() again) the sessions are resumed like after a reconnect.
    ForgetServerState(ErrorCode::kConnectionLost, "the client was stopped");
    CloseSocket(&wake_receiver_);
    if (config_.callbacks.on_thread_stop) config_.callbacks.on_thread_stop();
  }

  int PollTimeout(int64_t now) const {
    if (has_pending_) return kStalledPollMs;
    int64_t wait = kMaxPollMs;
    const ConnectionState state = state_.load();
    if (state == ConnectionState::kBackoff) wait = (std::min)(wait, reconnect_at_ - now);
    if (state == ConnectionState::kConnecting) wait = (std::min)(wait, handshake_deadline_ - now);
    if (state == ConnectionState::kReady) {
      wait = (std::min)(wait, last_send_ + config_.heartbeat_ms - now);
    }
    return static_cast<int>((std::max<int64_t>)(0, wait));
  }

  void DrainWake() {
    zmq_msg_t message;
    zmq_msg_init(&message);
    while (zmq_msg_recv(&message, wake_receiver_, ZMQ_DONTWAIT) >= 0) {
    }
    zmq_msg_close(&message);
  }

  // --- connection lifecycle --------------------------------------------------------------

  void Connect() {
    dealer_ = zmq_socket(context_, ZMQ_DEALER);
    if (dealer_ == nullptr) {
      Fail(ErrorCode::kTransport, "could not create the DEALER socket");
      return;
    }
    int linger = 0;
    int reconnect_min = config_.reconnect_min_ms;
    int reconnect_max = config_.reconnect_max_ms;
    int heartbeat = config_.heartbeat_ms;
    int heartbeat_timeout = config_.liveness_ms;
    zmq_setsockopt(dealer_, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(dealer_, ZMQ_RECONNECT_IVL, &reconnect_min, sizeof reconnect_min);
    zmq_setsockopt(dealer_, ZMQ_RECONNECT_IVL_MAX, &reconnect_max, sizeof reconnect_max);
    // ZMTP heartbeats let libzmq notice a dead peer even while we are not reading.
    zmq_setsockopt(dealer_, ZMQ_HEARTBEAT_IVL, &heartbeat, sizeof heartbeat);
    zmq_setsockopt(dealer_, ZMQ_HEARTBEAT_TIMEOUT, &heartbeat_timeout, sizeof heartbeat_timeout);
    if (!config_.curve_server_key.empty()) {
      zmq_setsockopt(dealer_, ZMQ_CURVE_SERVERKEY, config_.curve_server_key.data(),
                     config_.curve_server_key.size());
      zmq_setsockopt(dealer_, ZMQ_CURVE_PUBLICKEY, config_.curve_public_key.data(),
                     config_.curve_public_key.size());
      zmq_setsockopt(dealer_, ZMQ_CURVE_SECRETKEY, config_.curve_secret_key.data(),
                     config_.curve_secret_key.size());
    }
    char endpoint[80];
    std::snprintf(endpoint, sizeof endpoint, "inproc://merg-monitor-%p-%llu",
                  static_cast<void*>(this), static_cast<unsigned long long>(++monitor_serial_));
    const int events = ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                       ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
    if (zmq_socket_monitor(dealer_, endpoint, events) == 0) {
      monitor_ = zmq_socket(context_, ZMQ_PAIR);
      if (monitor_ != nullptr) {
        zmq_setsockopt(monitor_, ZMQ_LINGER, &linger, sizeof linger);
        if (zmq_connect(monitor_, endpoint) != 0) CloseSocket(&monitor_);
      }
    }
    if (zmq_connect(dealer_, config_.endpoint.c_str()) != 0) {
      char message[160];
      std::snprintf(message, sizeof message, "cannot connect to '%s': %s",
                    config_.endpoint.c_str(), zmq_strerror(zmq_errno()));
      Fail(ErrorCode::kTransport, message);
      return;
    }
    state_.store(ConnectionState::kConnecting);
    SendHello();
  }

  void SendHello() {
    last_recv_ = NowMs();
    handshake_deadline_ = NowMs() + config_.handshake_timeout_ms;
    state_.store(ConnectionState::kConnecting);
    encoder_.Hello(NextSeq(), config_.client);
    SendEncoded();
  }

  void CloseConnection() {
    if (dealer_ != nullptr) zmq_socket_monitor(dealer_, nullptr, 0);
    CloseSocket(&monitor_);
    CloseSocket(&dealer_);
  }

  void DropPending() {
    has_pending_ = false;
  }

  // The connection is gone (closed by the peer, silent, or never welcomed): end what was
  // running, then reconnect after a backoff.
  void LoseConnection(ErrorCode code, const char* message) {
    const bool was_ready = state_.load() == ConnectionState::kReady;
    DropPending();
    CloseConnection();
    ForgetServerState(code, message);
    if (!outage_reported_) {
      outage_reported_ = true;
      Event& event = BeginEvent(EventType::kDisconnected);
      event.local = true;
      SetCode(&event, code);
      event.message = message;
      EmitEvent();
    }
    if (was_ready) backoff_ms_ = 0;
    if (!config_.auto_reconnect) {
      state_.store(ConnectionState::kFailed);
      return;
    }
    backoff_ms_ = backoff_ms_ == 0 ? config_.reconnect_min_ms
                                   : (std::min)(backoff_ms_ * 2, config_.reconnect_max_ms);
    // Up to 25% jitter, so many clients do not reconnect in lockstep.
    jitter_state_ = jitter_state_ * 1103515245u + 12345u;
    const int jitter = static_cast<int>((jitter_state_ >> 16) %
                                         static_cast<uint32_t>(backoff_ms_ / 4 + 1));
    reconnect_at_ = NowMs() + backoff_ms_ + jitter;
    state_.store(ConnectionState::kBackoff);
  }

  // The server no longer knows this client (new connection, or it forgot us): running
  // turns are over, and every session must be resumed (or opened) again.
  void ForgetServerState(ErrorCode code, const char* message) {
    pending_opens_.clear();
    for (Slot& slot : slots_) {
      if (slot.id == 0) continue;
      if (slot.turn_running) {
        slot.turn_running = false;
        if (slot.buffer && !slot.active_discarded) {
          slot.buffer->EndTurn(slot.active_turn, true);  // play out what arrived
        }
        Event& event = BeginEvent(EventType::kTurnEnd);
        event.local = true;
        event.session = slot.id;
        event.turn = slot.active_turn;
        event.request = slot.active_request;
        event.discarded = slot.active_discarded;
        event.reason = "error";
        SetCode(&event, code);
        event.message = message;
        EmitEvent();
      }
      slot.open_sent = false;
      if (slot.state == SlotState::kClosing) {
        // The close cannot be confirmed any more; the server frees the session by itself.
        CloseSlot(&slot, "closed");
        continue;
      }
      std::lock_guard<std::mutex> lock(slots_mutex_);
      if (slot.state == SlotState::kOpen) slot.state = SlotState::kResuming;
    }
  }

  void Fail(ErrorCode code, const char* message) {
    DropPending();
    CloseConnection();
    state_.store(ConnectionState::kFailed);
    Event& event = BeginEvent(EventType::kError);
    event.local = true;
    SetCode(&event, code);
    event.message = message;
    EmitEvent();
  }

  void OnWelcome(const ServerMessage& m) {
    {
      std::lock_guard<std::mutex> lock(server_mutex_);
      ServerInfo& info = server_;
      info = ServerInfo();
      if (const msgpack_object* name = FindKey(*m.server, "name")) {
        if (name->type == MSGPACK_OBJECT_STR) info.name.assign(name->via.str.ptr, name->via.str.size);
      }
      if (const msgpack_object* version = FindKey(*m.server, "version")) {
        if (version->type == MSGPACK_OBJECT_STR) {
          info.version.assign(version->via.str.ptr, version->via.str.size);
        }
      }
      const msgpack_object& caps = *m.capabilities;
      if (const msgpack_object* o = FindKey(caps, "rigs")) StringsOf(*o, &info.rigs);
      if (const msgpack_object* o = FindKey(caps, "voices")) StringsOf(*o, &info.voices);
      if (const msgpack_object* o = FindKey(caps, "emotions")) StringsOf(*o, &info.emotions);
      if (const msgpack_object* o = FindKey(caps, "features")) StringsOf(*o, &info.features);
      for (const char* key : {"fps", "sample_rates"}) {
        const msgpack_object* o = FindKey(caps, key);
        if (o == nullptr || o->type != MSGPACK_OBJECT_ARRAY) continue;
        std::vector<int>& out = key[0] == 'f' ? info.fps : info.sample_rates;
        for (uint32_t i = 0; i < o->via.array.size; ++i) {
          if (o->via.array.ptr[i].type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            out.push_back(static_cast<int>(o->via.array.ptr[i].via.u64));
          }
        }
      }
      AppendJson(caps, &info.capabilities_json);
    }
    const bool reconnect = welcomed_before_;
    welcomed_before_ = true;
    if (reconnect) reconnects_.fetch_add(1);
    outage_reported_ = false;
    backoff_ms_ = 0;
    state_.store(ConnectionState::kReady);
    Event& event = BeginEvent(EventType::kConnected);
    {
      std::lock_guard<std::mutex> lock(server_mutex_);
      event.server_name = server_.name;
      event.server_version = server_.version;
      event.json = server_.capabilities_json;
    }
    event.reconnects = static_cast<int>(reconnects_.load());
    EmitEvent();
    for (Slot& slot : slots_) {
      if (slot.id != 0 && !slot.open_sent &&
          (slot.state == SlotState::kOpening || slot.state == SlotState::kResuming)) {
        SendOpen(&slot, slot.state == SlotState::kResuming);
      }
    }
  }

  void SendOpen(Slot* slot, bool resume) {
    const SessionOptions& options = slot->options;
    SessionOpenFields fields;
    fields.rig = options.rig.c_str();
    fields.fps = options.fps;
    fields.sample_rate = options.sample_rate;
    fields.voice = options.voice.empty() ? nullptr : options.voice.c_str();
    fields.language = options.language.empty() ? nullptr : options.language.c_str();
    fields.avatar = options.avatar.empty() ? nullptr : options.avatar.c_str();
    fields.resume = resume ? slot->sid.c_str() : nullptr;
    const int64_t seq = NextSeq();
    encoder_.SessionOpen(seq, fields);
    if (!SendEncoded()) return;
    Remember(seq, 0, slot->id, CommandKind::kOpen, resume);
    slot->open_sent = true;
    pending_opens_.push_back(PendingOpen{seq, slot->id, resume});
  }

  // --- commands --------------------------------------------------------------------------

  void ProcessCommands() {
    Command command;
    for (size_t i = 0; i < commands_.capacity() && commands_.Pop(&command); ++i) {
      Execute(&command, false);
    }
  }

  // Send now, or keep it until its session is open (`deferred`: it was kept before).
  void Execute(Command* command, bool deferred) {
    Slot* slot = SlotById(command->session);
    switch (command->kind) {
      case CommandKind::kPing:
        if (state_.load() != ConnectionState::kReady) {
          LocalError(ErrorCode::kNotConnected, "ping: not connected", 0, 0);
          return;
        }
        encoder_.Ping(NextSeq(), WallClockS());
        if (SendEncoded()) ++host_pings_;
        return;
      case CommandKind::kOpen:
        slot = InstallSlot(command);
        if (slot != nullptr && state_.load() == ConnectionState::kReady) {
          SendOpen(slot, slot->state == SlotState::kResuming);
        }
        return;  // otherwise sent on welcome
      default:
        break;
    }
    if (slot == nullptr) {
      LocalError(ErrorCode::kUnknownSession, "no such session (closed?)", command->request,
                 command->session);
      return;
    }
    if (command->kind == CommandKind::kInterrupt) {
      slot->discard_through = (std::max)(slot->discard_through, command->discard_through);
      if (slot->turn_running && slot->active_request != 0 &&
          slot->active_request <= slot->discard_through) {
        slot->active_discarded = true;
      }
      CancelDeferred(slot->id, command->discard_through);
    }
    if (command->kind == CommandKind::kClose) {
      CancelDeferred(slot->id, last_request_.load());
      if (slot->state != SlotState::kOpen || state_.load() != ConnectionState::kReady) {
        if (slot->state == SlotState::kOpening && slot->open_sent) {
          slot->close_requested = true;  // closed as soon as it is opened
        } else {
          CloseSlot(slot, "closed");
        }
        return;
      }
    }
    const bool can_send =
        state_.load() == ConnectionState::kReady && slot->state == SlotState::kOpen;
    if (!can_send) {
      if (command->kind == CommandKind::kInterrupt || command->kind == CommandKind::kPlayback) {
        return;  // nothing runs on the server for a session that is not open
      }
      if (!deferred) {
        if (deferred_.size() >= commands_.capacity()) {
          LocalError(ErrorCode::kQueueFull, "too many requests waiting for their session",
                     command->request, command->session);
          return;
        }
        deferred_.push_back(std::move(*command));
      }
      return;
    }
    const int64_t seq = NextSeq();
    switch (command->kind) {
      case CommandKind::kSay:
        encoder_.Say(seq, slot->sid, command->text,
                     command->emotion.empty() ? nullptr : command->emotion.c_str(),
                     command->intensity);
        break;
      case CommandKind::kUserText:
        encoder_.UserText(seq, slot->sid, command->text);
        break;
      case CommandKind::kInterrupt:
        encoder_.Interrupt(seq, slot->sid);
        break;
      case CommandKind::kPlayback:
        encoder_.Playback(seq, slot->sid, command->turn, command->t);
        break;
      case CommandKind::kClose: {
        encoder_.SessionClose(seq, slot->sid);
        std::lock_guard<std::mutex> lock(slots_mutex_);
        slot->state = SlotState::kClosing;
        break;
      }
      default:
        return;
    }
    if (SendEncoded()) Remember(seq, command->request, slot->id, command->kind, false);
  }

  Slot* InstallSlot(Command* command) {
    std::lock_guard<std::mutex> lock(slots_mutex_);
    ForgetOpeningLocked(command->session);
    for (Slot& slot : slots_) {
      if (slot.id != 0) continue;
      slot = Slot();
      slot.id = command->session;
      slot.state = SlotState::kOpening;
      slot.options = std::move(command->options);
      slot.buffer = std::move(command->buffer);
      if (!slot.options.resume_sid.empty()) {
        slot.sid = slot.options.resume_sid;
        slot.state = SlotState::kResuming;
        slot.host_resume = true;
      }
      return &slot;
    }
    return nullptr;  // cannot happen: sessions_in_use_ keeps a slot for every open
  }

  void ForgetOpeningLocked(SessionId session) {
    for (size_t i = 0; i < opening_.size(); ++i) {
      if (opening_[i].session == session) {
        opening_.erase(opening_.begin() + static_cast<std::ptrdiff_t>(i));
        return;
      }
    }
  }

  void CancelDeferred(SessionId session, RequestId through) {
    for (size_t i = 0; i < deferred_.size();) {
      Command& command = deferred_[i];
      const bool turn_request =
          command.kind == CommandKind::kSay || command.kind == CommandKind::kUserText;
      if (command.session == session && turn_request && command.request <= through) {
        LocalError(ErrorCode::kCancelled, "dropped by an interrupt or close before it was sent",
                   command.request, session);
        deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }

  void FlushDeferred(SessionId session) {
    for (size_t i = 0; i < deferred_.size();) {
      if (deferred_[i].session != session) {
        ++i;
        continue;
      }
      Command command = std::move(deferred_[i]);
      deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      Execute(&command, true);
      Slot* slot = SlotById(session);
      if (slot == nullptr || slot->state != SlotState::kOpen ||
          state_.load() != ConnectionState::kReady) {
        // Could not be sent after all: keep it (in order) for the next chance.
        deferred_.insert(deferred_.begin() + static_cast<std::ptrdiff_t>(i), std::move(command));
        return;
      }
    }
  }

  void Remember(int64_t seq, RequestId request, SessionId session, CommandKind kind,
                bool resume) {
    Sent& sent = sent_[sent_next_ % kSentHistory];
    ++sent_next_;
    sent.seq = seq;
    sent.request = request;
    sent.session = session;
    sent.kind = kind;
    sent.resume = resume;
  }

  const Sent* FindSent(int64_t seq) const {
    for (const Sent& sent : sent_) {
      if (sent.seq == seq && seq != 0) return &sent;
    }
    return nullptr;
  }

  int64_t NextSeq() { return ++seq_; }

  bool SendEncoded() {
    if (dealer_ == nullptr) return false;
    if (zmq_send(dealer_, encoder_.data(), encoder_.size(), ZMQ_DONTWAIT) < 0) {
      LocalError(ErrorCode::kTransport, zmq_strerror(zmq_errno()), 0, 0);
      return false;
    }
    last_send_ = NowMs();
    messages_sent_.fetch_add(1);
    return true;
  }

  // --- receiving -------------------------------------------------------------------------

  void Receive() {
    for (int i = 0; i < kReceiveBatch && dealer_ != nullptr; ++i) {
      if (!has_pending_) {
        if (zmq_msg_recv(&frame_, dealer_, ZMQ_DONTWAIT) < 0) return;
        int more = 0;
        size_t more_size = sizeof more;
        zmq_getsockopt(dealer_, ZMQ_RCVMORE, &more, &more_size);
        while (more) {  // not part of the protocol: skip the extra frames
          zmq_msg_t extra;
          zmq_msg_init(&extra);
          zmq_msg_recv(&extra, dealer_, 0);
          zmq_msg_close(&extra);
          zmq_getsockopt(dealer_, ZMQ_RCVMORE, &more, &more_size);
        }
        last_recv_ = NowMs();
        messages_received_.fetch_add(1);
        bytes_received_.fetch_add(zmq_msg_size(&frame_));
      }
      if (!Handle(zmq_msg_data(&frame_), zmq_msg_size(&frame_))) {
        if (!has_pending_) stalls_.fetch_add(1);
        has_pending_ = true;  // no room in a buffer or the event queue: retry shortly
        return;
      }
      if (has_pending_) last_recv_ = NowMs();  // the wait was ours, not the server's
      has_pending_ = false;
    }
  }

  // Returns false when the frame must wait for room.
  bool Handle(const void* data, size_t size) {
    if (config_.event_queue > 0 && events_.capacity() - events_.size() < kEventsPerFrame) {
      return false;
    }
    ServerMessage& m = message_;
    const DecodeStatus status = decoder_.Decode(data, size, &m);
    if (status == DecodeStatus::kUnknownType) return true;  // a newer server's message
    if (status == DecodeStatus::kWrongVersion) {
      char message[96];
      std::snprintf(message, sizeof message,
                    "the server speaks protocol version %lld; this client speaks %d",
                    static_cast<long long>(m.v), kProtocolVersion);
      Fail(ErrorCode::kVersionMismatch, message);
      return true;
    }
    if (status != DecodeStatus::kOk) {
      char message[160];
      std::snprintf(message, sizeof message, "undecodable '%.*s' frame: %s",
                    static_cast<int>(m.type_name.size), m.type_name.data ? m.type_name.data : "",
                    decoder_.error());
      LocalError(ErrorCode::kInvalidMessage, message, 0, 0);
      return true;
    }
    if (state_.load() == ConnectionState::kConnecting && m.type != MessageType::kWelcome &&
        m.type != MessageType::kError) {
      return true;  // a stale message from before the (re)handshake
    }
    switch (m.type) {
      case MessageType::kWelcome:
        OnWelcome(m);
        return true;
      case MessageType::kPong:
        if (host_pings_ > 0) {
          --host_pings_;
          Event& event = BeginEvent(EventType::kPong);
          event.t = m.t;
          event.server_t = m.server_t;
          EmitEvent();
        }
        return true;
      case MessageType::kSessionOpened:
        OnSessionOpened(m);
        return true;
      case MessageType::kSessionClosed:
        OnSessionClosed(m);
        return true;
      case MessageType::kTurnStart:
        OnTurnStart(m);
        return true;
      case MessageType::kAudio:
        return OnAudio(m);
      case MessageType::kFace:
        return OnFace(m);
      case MessageType::kTurnEnd:
        OnTurnEnd(m);
        return true;
      case MessageType::kError:
        OnError(m);
        return true;
      case MessageType::kReply:
      case MessageType::kUserAffect:
      case MessageType::kReasoning:
      case MessageType::kSafety:
        OnTurnEvent(m);
        return true;
      default:
        return true;  // flame frames and client types: nothing to do here
    }
  }

  Slot* SlotBySid(const StrView& sid) {
    if (!sid.present()) return nullptr;
    for (Slot& slot : slots_) {
      if (slot.id != 0 && slot.sid.size() == sid.size &&
          std::memcmp(slot.sid.data(), sid.data, sid.size) == 0) {
        return &slot;
      }
    }
    return nullptr;
  }

  void OnSessionOpened(const ServerMessage& m) {
    if (pending_opens_.empty()) return;
    const PendingOpen pending = pending_opens_.front();
    pending_opens_.erase(pending_opens_.begin());
    Slot* slot = SlotById(pending.session);
    if (slot == nullptr) return;
    const bool reopened = slot->reopening;
    {
      std::lock_guard<std::mutex> lock(slots_mutex_);
      m.sid.AssignTo(&slot->sid);
      m.rig_name.AssignTo(&slot->rig);
      StringsOf(*m.names, &slot->names);
      slot->fps = static_cast<int>(m.fps);
      slot->sample_rate = static_cast<int>(m.sample_rate);
      m.voice.AssignTo(&slot->voice);
      slot->state = SlotState::kOpen;
      slot->reopening = false;
      slot->host_resume = false;
    }
    if (slot->buffer) {
      const BufferStatus status = slot->buffer->Status();
      if (!m.resumed || status.sample_rate != slot->sample_rate || status.fps != slot->fps ||
          status.names != static_cast<int>(slot->names.size())) {
        slot->buffer->Configure(slot->sample_rate, slot->fps,
                                static_cast<int>(slot->names.size()));
      }
    }
    if (!m.resumed) {
      slot->discard_through = 0;
      slot->active_turn = 0;
    }
    Event& event = BeginEvent(EventType::kSessionOpened);
    event.session = slot->id;
    event.sid = slot->sid;
    event.rig = slot->rig;
    event.names = slot->names;
    event.fps = slot->fps;
    event.sample_rate = slot->sample_rate;
    event.voice = slot->voice;
    event.resumed = m.resumed;
    event.reopened = reopened;
    EmitEvent();
    if (slot->close_requested) {
      slot->close_requested = false;
      Command close;
      close.kind = CommandKind::kClose;
      close.session = slot->id;
      Execute(&close, false);
      return;
    }
    FlushDeferred(slot->id);
  }

  void OnSessionClosed(const ServerMessage& m) {
    Slot* slot = SlotBySid(m.sid);
    if (slot == nullptr) return;
    if (slot->buffer) slot->buffer->Interrupt();
    const std::string reason = m.reason.present() ? m.reason.str() : std::string("closed");
    CloseSlot(slot, reason.c_str());
  }

  // Frees the slot and reports kSessionClosed. Events are emitted outside slots_mutex_, so
  // callbacks may call back into the client.
  void CloseSlot(Slot* slot, const char* reason) {
    const SessionId id = slot->id;
    for (size_t i = 0; i < pending_opens_.size();) {
      if (pending_opens_[i].session == id) {
        pending_opens_.erase(pending_opens_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    Event& event = BeginEvent(EventType::kSessionClosed);
    event.session = id;
    event.sid = slot->sid;
    event.reason = reason;
    {
      std::lock_guard<std::mutex> lock(slots_mutex_);
      *slot = Slot();
    }
    sessions_in_use_.fetch_sub(1);
    EmitEvent();
    // Requests still waiting for this session will never be sent.
    for (size_t i = 0; i < deferred_.size();) {
      if (deferred_[i].session == id) {
        LocalError(ErrorCode::kCancelled, "the session was closed", deferred_[i].request, id);
        deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }

  void OnTurnStart(const ServerMessage& m) {
    Slot* slot = SlotBySid(m.sid);
    if (slot == nullptr) return;
    const Sent* sent = m.has_ref ? FindSent(m.ref) : nullptr;
    const RequestId request = sent != nullptr ? sent->request : 0;
    slot->active_turn = static_cast<int>(m.turn);
    slot->active_request = request;
    slot->active_discarded = request != 0 && request <= slot->discard_through;
    slot->turn_running = true;
    slot->gap_reported = false;
    slot->next_t0 = 0;
    slot->next_f0 = 0;
    if (slot->buffer && !slot->active_discarded) slot->buffer->BeginTurn(slot->active_turn);
    Event& event = BeginEvent(EventType::kTurnStart);
    event.session = slot->id;
    event.turn = slot->active_turn;
    event.request = request;
    event.discarded = slot->active_discarded;
    m.source.AssignTo(&event.source);
    EmitEvent();
  }

  // True if this frame's data should be delivered (its turn is current and not dropped).
  bool Delivers(const Slot& slot, int64_t turn) const {
    return slot.turn_running && turn == slot.active_turn && !slot.active_discarded;
  }

  void ReportGap(Slot* slot, const char* what, int64_t got, int64_t expected) {
    if (slot->gap_reported) return;
    slot->gap_reported = true;
    char message[128];
    std::snprintf(message, sizeof message, "%s at %lld, expected %lld (skipped)", what,
                  static_cast<long long>(got), static_cast<long long>(expected));
    LocalError(ErrorCode::kStreamGap, message, slot->active_request, slot->id);
  }

  bool OnAudio(const ServerMessage& m) {
    Slot* slot = SlotBySid(m.sid);
    if (slot == nullptr || !Delivers(*slot, m.turn)) return true;
    const size_t samples = m.pcm.size / 2;
    if (m.t0 != slot->next_t0) {
      ReportGap(slot, "audio", m.t0, slot->next_t0);
      return true;
    }
    if (slot->buffer) {
      if (!slot->buffer->HasRoomForAudio(samples)) {
        if (samples > static_cast<size_t>(slot->sample_rate) * 3600) return true;
        return false;  // wait for the audio thread to make room
      }
      const WriteResult result = slot->buffer->WriteAudio(slot->active_turn, m.t0, m.pcm.data,
                                                          samples);
      if (result == WriteResult::kTooLarge) {
        LocalError(ErrorCode::kQueueFull, "an audio chunk larger than the jitter buffer",
                   slot->active_request, slot->id);
      }
    }
    if (config_.callbacks.on_audio) {
      if (scratch_pcm_.size() < samples) scratch_pcm_.resize(samples);
      ReadS16le(m.pcm.data, samples, scratch_pcm_.data());
      AudioChunk chunk;
      chunk.session = slot->id;
      chunk.turn = slot->active_turn;
      chunk.t0 = m.t0;
      chunk.sample_rate = static_cast<int>(m.sample_rate);
      chunk.pcm = scratch_pcm_.data();
      chunk.samples = samples;
      config_.callbacks.on_audio(chunk);
    }
    slot->next_t0 += static_cast<int64_t>(samples);
    return true;
  }

  bool OnFace(const ServerMessage& m) {
    Slot* slot = SlotBySid(m.sid);
    if (slot == nullptr || !Delivers(*slot, m.turn)) return true;
    const int names = static_cast<int>(slot->names.size());
    const int64_t count = m.count;
    const bool sizes_ok =
        count >= 0 &&
        m.weights.size == static_cast<uint64_t>(count) * static_cast<uint64_t>(names) * 4 &&
        (!m.head.present() || m.head.size == static_cast<uint64_t>(count) * kHeadChannels * 4) &&
        (!m.eyes.present() || m.eyes.size == static_cast<uint64_t>(count) * kEyeChannels * 4);
    if (!sizes_ok) {
      LocalError(ErrorCode::kInvalidMessage, "face payload sizes do not match count x names",
                 slot->active_request, slot->id);
      return true;
    }
    if (m.f0 != slot->next_f0) {
      ReportGap(slot, "face", m.f0, slot->next_f0);
      return true;
    }
    const uint8_t* head = m.head.present() ? m.head.data : nullptr;
    const uint8_t* eyes = m.eyes.present() ? m.eyes.data : nullptr;
    if (slot->buffer) {
      const WriteResult result =
          slot->buffer->WriteFrames(slot->active_turn, m.f0, count, m.weights.data, head, eyes);
      if (result == WriteResult::kFull) return false;  // wait for the reader
      if (result == WriteResult::kTooLarge) {
        LocalError(ErrorCode::kQueueFull, "a face block larger than the jitter buffer",
                   slot->active_request, slot->id);
      }
    }
    if (config_.callbacks.on_face) {
      const size_t weights = static_cast<size_t>(count) * static_cast<size_t>(names);
      if (scratch_weights_.size() < weights) scratch_weights_.resize(weights);
      if (scratch_head_.size() < static_cast<size_t>(count) * kHeadChannels) {
        scratch_head_.resize(static_cast<size_t>(count) * kHeadChannels);
        scratch_eyes_.resize(static_cast<size_t>(count) * kEyeChannels);
      }
      ReadF32le(m.weights.data, weights, scratch_weights_.data());
      if (head != nullptr) {
        ReadF32le(head, static_cast<size_t>(count) * kHeadChannels, scratch_head_.data());
      }
      if (eyes != nullptr) {
        ReadF32le(eyes, static_cast<size_t>(count) * kEyeChannels, scratch_eyes_.data());
      }
      FaceBlock block;
      block.session = slot->id;
      block.turn = slot->active_turn;
      block.f0 = m.f0;
      block.fps = static_cast<int>(m.fps);
      block.count = static_cast<int>(count);
      block.names = names;
      block.weights = scratch_weights_.data();
      block.head = head != nullptr ? scratch_head_.data() : nullptr;
      block.eyes = eyes != nullptr ? scratch_eyes_.data() : nullptr;
      config_.callbacks.on_face(block);
    }
    slot->next_f0 += count;
    return true;
  }

  void OnTurnEnd(const ServerMessage& m) {
    Slot* slot = SlotBySid(m.sid);
    if (slot == nullptr) return;
    const bool current = slot->turn_running && m.turn == slot->active_turn;
    Event& event = BeginEvent(EventType::kTurnEnd);
    event.session = slot->id;
    event.turn = static_cast<int>(m.turn);
    m.reason.AssignTo(&event.reason);
    event.stats = m.stats;
    if (m.stats_map != nullptr) AppendJson(*m.stats_map, &event.json);
    if (current) {
      event.request = slot->active_request;
      event.discarded = slot->active_discarded;
      slot->turn_running = false;
      if (slot->buffer && !slot->active_discarded) {
        slot->buffer->EndTurn(slot->active_turn, !m.reason.Equals("interrupted"));
      }
    }
    EmitEvent();
  }

  void OnTurnEvent(const ServerMessage& m) {
    Slot* slot = SlotBySid(m.sid);
    if (slot == nullptr) return;
    const bool current = m.turn == slot->active_turn;
    EventType type = EventType::kReply;
    if (m.type == MessageType::kUserAffect) type = EventType::kUserAffect;
    if (m.type == MessageType::kReasoning) type = EventType::kReasoning;
    if (m.type == MessageType::kSafety) type = EventType::kSafety;
    Event& event = BeginEvent(type);
    event.session = slot->id;
    event.turn = static_cast<int>(m.turn);
    if (current) {
      event.request = slot->active_request;
      event.discarded = slot->active_discarded;
    }
    switch (m.type) {
      case MessageType::kReply:
        m.text.AssignTo(&event.text);
        m.emotion.AssignTo(&event.emotion);
        m.strategy.AssignTo(&event.strategy);
        event.intensity = static_cast<float>(m.intensity);
        event.final = m.final;
        event.t0 = m.has_t0 ? m.t0 : -1;
        if (m.phonemes != nullptr) AppendJson(*m.phonemes, &event.json);
        break;
      case MessageType::kUserAffect:
        m.emotion.AssignTo(&event.emotion);
        for (int i = 0; i < 3; ++i) event.vad[i] = m.vad[i];
        event.confidence = static_cast<float>(m.confidence);
        m.fine_emotion.AssignTo(&event.fine_emotion);
        m.cause.AssignTo(&event.cause);
        if (m.by != nullptr) AppendJson(*m.by, &event.json);
        break;
      case MessageType::kReasoning:
        if (m.chain != nullptr) AppendJson(*m.chain, &event.json);
        break;
      case MessageType::kSafety:
        m.category.AssignTo(&event.category);
        m.severity.AssignTo(&event.severity);
        m.matched.AssignTo(&event.matched);
        break;
      default:
        break;
    }
    EmitEvent();
  }

  void OnError(const ServerMessage& m) {
    const ErrorCode code = ParseErrorCode(m.code.data, m.code.size);
    const Sent* sent = m.has_ref ? FindSent(m.ref) : nullptr;
    Slot* slot = sent != nullptr ? SlotById(sent->session) : SlotBySid(m.sid);
    // A failed session.open: retry a failed resume as a fresh open, or give the slot up.
    if (sent != nullptr && sent->kind == CommandKind::kOpen) {
      for (size_t i = 0; i < pending_opens_.size(); ++i) {
        if (pending_opens_[i].seq != sent->seq) continue;
        pending_opens_.erase(pending_opens_.begin() + static_cast<std::ptrdiff_t>(i));
        if (slot != nullptr) OnOpenFailed(slot, sent->resume, code, m);
        return;
      }
    }
    if (code == ErrorCode::kUnsupportedVersion) {
      Fail(ErrorCode::kVersionMismatch, "the server does not speak protocol version 1");
      return;
    }
    Event& event = BeginEvent(EventType::kError);
    event.code = code;
    m.code.AssignTo(&event.code_name);
    m.message.AssignTo(&event.message);
    event.session = slot != nullptr ? slot->id : 0;
    event.request = sent != nullptr ? sent->request : 0;
    if (slot != nullptr && m.sid.present() && slot->turn_running) {
      event.turn = slot->active_turn;  // `overloaded` and faults during a turn carry the sid
    }
    EmitEvent();
    if (code == ErrorCode::kHelloRequired && state_.load() == ConnectionState::kReady) {
      // The server forgot this client (idle timeout): greet it again on this socket.
      ForgetServerState(ErrorCode::kHelloRequired, "the server forgot this client");
      SendHello();
    }
  }

  void OnOpenFailed(Slot* slot, bool was_resume, ErrorCode code, const ServerMessage& m) {
    slot->open_sent = false;
    if (was_resume && code == ErrorCode::kUnknownSession && !slot->host_resume) {
      // The server no longer has the session (restarted, or freed it): open a new one.
      char message[192];
      std::snprintf(message, sizeof message,
                    "session %s could not be resumed (%.*s); opened a new one: its "
                    "conversation memory is gone",
                    slot->sid.c_str(), static_cast<int>(m.message.size),
                    m.message.data ? m.message.data : "");
      LocalError(ErrorCode::kSessionLost, message, 0, slot->id);
      if (slot->buffer) slot->buffer->Interrupt();
      {
        std::lock_guard<std::mutex> lock(slots_mutex_);
        slot->state = SlotState::kOpening;
        slot->reopening = true;
      }
      SendOpen(slot, false);
      return;
    }
    Event& event = BeginEvent(EventType::kError);
    event.code = code;
    m.code.AssignTo(&event.code_name);
    m.message.AssignTo(&event.message);
    event.session = slot->id;
    EmitEvent();
    CloseSlot(slot, "open_failed");
  }

  void ProcessMonitor() {
    for (int i = 0; i < 16 && monitor_ != nullptr; ++i) {
      zmq_msg_t first;
      zmq_msg_init(&first);
      if (zmq_msg_recv(&first, monitor_, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&first);
        return;
      }
      uint16_t event = 0;
      if (zmq_msg_size(&first) >= sizeof event) {
        std::memcpy(&event, zmq_msg_data(&first), sizeof event);
      }
      zmq_msg_close(&first);
      zmq_msg_t second;  // the endpoint
      zmq_msg_init(&second);
      zmq_msg_recv(&second, monitor_, 0);
      zmq_msg_close(&second);
      if (event == ZMQ_EVENT_DISCONNECTED) {
        const ConnectionState state = state_.load();
        if (state == ConnectionState::kReady || state == ConnectionState::kConnecting) {
          LoseConnection(ErrorCode::kConnectionLost, "the server closed the connection");
          return;
        }
      } else if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ||
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                 event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
        if (!auth_failure_reported_) {
          auth_failure_reported_ = true;
          LocalError(ErrorCode::kAuthFailed,
                     "the ZMTP/CurveZMQ handshake failed: check the server's public key", 0, 0);
        }
      }
    }
  }

  void Timers(int64_t now) {
    const ConnectionState state = state_.load();
    if (state == ConnectionState::kBackoff && now >= reconnect_at_) {
      Connect();
    } else if (state == ConnectionState::kConnecting && now >= handshake_deadline_) {
      char message[96];
      std::snprintf(message, sizeof message, "no welcome within %d ms",
                    config_.handshake_timeout_ms);
      LoseConnection(ErrorCode::kTimeout, message);
    } else if (state == ConnectionState::kReady) {
      if (!has_pending_ && now - last_recv_ > config_.liveness_ms) {
        char message[96];
        std::snprintf(message, sizeof message, "nothing from the server for %d ms",
                      config_.liveness_ms);
        LoseConnection(ErrorCode::kConnectionLost, message);
      } else if (now - last_send_ >= config_.heartbeat_ms) {
        encoder_.Ping(NextSeq(), WallClockS());
        SendEncoded();
      }
    }
    for (size_t i = 0; i < deferred_.size();) {
      if (now - deferred_[i].queued_ms > config_.request_timeout_ms) {
        char message[96];
        std::snprintf(message, sizeof message, "its session was not open within %d ms",
                      config_.request_timeout_ms);
        LocalError(ErrorCode::kTimeout, message, deferred_[i].request, deferred_[i].session);
        deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
  }

  // --- events ----------------------------------------------------------------------------

  Event& BeginEvent(EventType type) {
    event_.Reset();
    event_.type = type;
    return event_;
  }

  static void SetCode(Event* event, ErrorCode code) {
    event->code = code;
    event->code_name = ErrorCodeName(code);
  }

  void LocalError(ErrorCode code, const char* message, RequestId request, SessionId session) {
    Event& event = BeginEvent(EventType::kError);
    event.local = true;
    SetCode(&event, code);
    event.message = message;
    event.request = request;
    event.session = session;
    EmitEvent();
  }

  void EmitEvent() {
    if (config_.callbacks.on_event) config_.callbacks.on_event(event_);
    if (config_.event_queue == 0) return;
    if (!events_.Push(event_)) events_dropped_.fetch_add(1);
  }

  struct PendingOpen {
    int64_t seq;
    SessionId session;
    bool resume;
  };

  struct Opening {  // opened by the host, not yet taken over by the network thread
    SessionId session;
    std::shared_ptr<JitterBuffer> buffer;
  };

  ClientConfig config_;
  BoundedQueue<Command> commands_;
  BoundedQueue<Event> events_;
  std::vector<Slot> slots_;
  mutable std::mutex slots_mutex_;  // slot fields host threads read
  mutable std::mutex server_mutex_;
  ServerInfo server_;
  std::vector<Opening> opening_;
  std::atomic<int> sessions_in_use_{0};

  std::mutex lifecycle_mutex_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<ConnectionState> state_{ConnectionState::kStopped};
  std::atomic<RequestId> last_request_{0};
  SessionId last_session_id_ = 0;

  void* context_ = nullptr;
  std::mutex wake_mutex_;
  void* wake_sender_ = nullptr;    // host side
  void* wake_receiver_ = nullptr;  // network thread
  void* dealer_ = nullptr;
  void* monitor_ = nullptr;
  uint64_t monitor_serial_ = 0;

  // Network-thread state.
  Encoder encoder_;
  Decoder decoder_;
  ServerMessage message_;
  Event event_;
  zmq_msg_t frame_;
  bool has_pending_ = false;
  int64_t seq_ = 0;
  Sent sent_[kSentHistory];
  uint64_t sent_next_ = 0;
  std::vector<PendingOpen> pending_opens_;
  std::vector<Command> deferred_;
  std::vector<int16_t> scratch_pcm_;
  std::vector<float> scratch_weights_;
  std::vector<float> scratch_head_;
  std::vector<float> scratch_eyes_;
  int host_pings_ = 0;
  int64_t last_send_ = 0;
  int64_t last_recv_ = 0;
  int64_t handshake_deadline_ = 0;
  int64_t reconnect_at_ = 0;
  int backoff_ms_ = 0;
  uint32_t jitter_state_ = 2463534242u;
  bool welcomed_before_ = false;
  bool outage_reported_ = false;
  bool auth_failure_reported_ = false;

  std::atomic<uint64_t> messages_received_{0};
  std::atomic<uint64_t> bytes_received_{0};
  std::atomic<uint64_t> messages_sent_{0};
  std::atomic<uint64_t> reconnects_{0};
  std::atomic<uint64_t> stalls_{0};
  std::atomic<uint64_t> events_dropped_{0};
};

// --- Client: the public face of Impl -------------------------------------------------------

Client::Client(ClientConfig config) : impl_(new Impl(std::move(config))) {}

Client::~Client() { impl_->Stop(); }

bool Client::Start() { return impl_->Start(); }

void Client::Stop() { impl_->Stop(); }

ConnectionState Client::state() const { return impl_->state(); }

SessionId Client::OpenSession(const SessionOptions& options) {
  return impl_->OpenSession(options);
}

bool Client::CloseSession(SessionId session) { return impl_->CloseSession(session); }

RequestId Client::Say(SessionId session, const std::string& text, const std::string& emotion,
                      float intensity) {
  return impl_->Request(CommandKind::kSay, session, text, emotion, intensity);
}

RequestId Client::SendText(SessionId session, const std::string& text) {
  return impl_->Request(CommandKind::kUserText, session, text, std::string(), -1.0);
}

bool Client::Interrupt(SessionId session) { return impl_->Interrupt(session); }

bool Client::ReportPlayback(SessionId session, int turn, double heard_s) {
  return impl_->ReportPlayback(session, turn, heard_s);
}

bool Client::Ping() { return impl_->Ping(); }

bool Client::PollEvent(Event* out) { return impl_->PollEvent(out); }

std::shared_ptr<JitterBuffer> Client::Buffer(SessionId session) const {
  return impl_->Buffer(session);
}

bool Client::GetSessionInfo(SessionId session, SessionInfo* out) const {
  return impl_->GetSessionInfo(session, out);
}

ServerInfo Client::GetServerInfo() const { return impl_->GetServerInfo(); }

ClientStats Client::GetStats() const { return impl_->GetStats(); }

}  // namespace merg
