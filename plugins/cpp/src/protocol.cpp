// Names of message types and error codes, as on the wire (merg_sdk/protocol).
#include "merg/protocol.h"

#include <cstring>

namespace merg {
namespace {

struct TypeName {
  MessageType type;
  const char* name;
};

constexpr TypeName kTypeNames[] = {
    {MessageType::kHello, "hello"},
    {MessageType::kPing, "ping"},
    {MessageType::kSessionOpen, "session.open"},
    {MessageType::kSessionClose, "session.close"},
    {MessageType::kSay, "say"},
    {MessageType::kUserText, "user.text"},
    {MessageType::kInterrupt, "interrupt"},
    {MessageType::kPlayback, "playback"},
    {MessageType::kWelcome, "welcome"},
    {MessageType::kPong, "pong"},
    {MessageType::kSessionOpened, "session.opened"},
    {MessageType::kSessionClosed, "session.closed"},
    {MessageType::kTurnStart, "turn.start"},
    {MessageType::kUserAffect, "user.affect"},
    {MessageType::kReasoning, "reasoning"},
    {MessageType::kSafety, "safety"},
    {MessageType::kReply, "reply"},
    {MessageType::kAudio, "audio"},
    {MessageType::kFace, "face"},
    {MessageType::kFlame, "flame"},
    {MessageType::kTurnEnd, "turn.end"},
    {MessageType::kError, "error"},
};

struct CodeName {
  ErrorCode code;
  const char* name;
};

constexpr CodeName kCodeNames[] = {
    {ErrorCode::kNone, ""},
    {ErrorCode::kBadMessage, "bad_message"},
    {ErrorCode::kHelloRequired, "hello_required"},
    {ErrorCode::kUnsupportedVersion, "unsupported_version"},
    {ErrorCode::kUnsupported, "unsupported"},
    {ErrorCode::kUnknownSession, "unknown_session"},
    {ErrorCode::kTooLarge, "too_large"},
    {ErrorCode::kTooManySessions, "too_many_sessions"},
    {ErrorCode::kOverloaded, "overloaded"},
    {ErrorCode::kUpstreamFailed, "upstream_failed"},
    {ErrorCode::kInternal, "internal"},
    {ErrorCode::kUnknownServerCode, "unknown"},
    {ErrorCode::kConnectionLost, "connection_lost"},
    {ErrorCode::kTimeout, "timeout"},
    {ErrorCode::kNotConnected, "not_connected"},
    {ErrorCode::kQueueFull, "queue_full"},
    {ErrorCode::kVersionMismatch, "version_mismatch"},
    {ErrorCode::kInvalidMessage, "invalid_message"},
    {ErrorCode::kStreamGap, "stream_gap"},
    {ErrorCode::kSessionLost, "session_lost"},
    {ErrorCode::kAuthFailed, "auth_failed"},
    {ErrorCode::kTransport, "transport"},
    {ErrorCode::kCancelled, "cancelled"},
};

bool Same(const char* name, const char* data, size_t length) {
  return std::strlen(name) == length && std::memcmp(name, data, length) == 0;
}

}  // namespace

const char* MessageTypeName(MessageType type) {
  for (const TypeName& entry : kTypeNames) {
    if (entry.type == type) return entry.name;
  }
  return "";
}

MessageType ParseMessageType(const char* name, size_t length) {
  for (const TypeName& entry : kTypeNames) {
    if (Same(entry.name, name, length)) return entry.type;
  }
  return MessageType::kUnknown;
}

const char* ErrorCodeName(ErrorCode code) {
  for (const CodeName& entry : kCodeNames) {
    if (entry.code == code) return entry.name;
  }
  return "unknown";
}

ErrorCode ParseErrorCode(const char* name, size_t length) {
  for (const CodeName& entry : kCodeNames) {
    if (entry.code == ErrorCode::kNone || IsLocalErrorCode(entry.code)) continue;
    if (entry.code == ErrorCode::kUnknownServerCode) continue;
    if (Same(entry.name, name, length)) return entry.code;
  }
  return ErrorCode::kUnknownServerCode;
}

bool IsLocalErrorCode(ErrorCode code) {
  return code >= ErrorCode::kConnectionLost;
}

}  // namespace merg
