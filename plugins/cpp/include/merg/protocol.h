// MERG wire protocol, version 1: the constants, message type names and error codes.
//
// Mirrors merg_sdk/protocol (constants.py, errors.py, messages.py). Change both
// together; the shared test vectors in tests/vectors/ catch a drift in the bytes.
#pragma once

#include <cstddef>
#include <cstdint>

namespace merg {

constexpr int kProtocolVersion = 1;
constexpr int kDefaultPort = 5555;
constexpr const char* kDefaultEndpoint = "tcp://127.0.0.1:5555";

constexpr int kSupportedFps[] = {30, 60, 120};
constexpr int kSupportedSampleRatesHz[] = {16000, 22050, 24000, 44100, 48000};

constexpr int kDefaultFps = 60;
constexpr int kDefaultSampleRateHz = 22050;
constexpr const char* kDefaultRig = "arkit52";

// Columns of the optional `head` (pitch, yaw, roll) and `eyes` (left pitch, left yaw,
// right pitch, right yaw) arrays of a `face` message, radians.
constexpr int kHeadChannels = 3;
constexpr int kEyeChannels = 4;

// Every message type on the wire. Unknown types from a newer server decode as kUnknown
// and are ignored, as the protocol asks.
enum class MessageType : uint8_t {
  kUnknown = 0,
  // client -> server
  kHello,
  kPing,
  kSessionOpen,
  kSessionClose,
  kSay,
  kUserText,
  kInterrupt,
  kPlayback,
  // server -> client
  kWelcome,
  kPong,
  kSessionOpened,
  kSessionClosed,
  kTurnStart,
  kUserAffect,
  kReasoning,
  kSafety,
  kReply,
  kAudio,
  kFace,
  kFlame,
  kTurnEnd,
  kError,
};

// The wire `type` string of a message type ("session.open"); "" for kUnknown.
const char* MessageTypeName(MessageType type);
// The message type of a wire `type` string (not NUL-terminated); kUnknown if none.
MessageType ParseMessageType(const char* name, size_t length);

// Error codes: the server's stable codes (docs/protocol.md "Errors"), then local codes
// this client raises itself for transport and buffering problems. A code the server adds
// later arrives as kUnknownServerCode with its string kept in the event.
enum class ErrorCode : uint8_t {
  kNone = 0,
  // server codes (stable strings)
  kBadMessage,
  kHelloRequired,
  kUnsupportedVersion,
  kUnsupported,
  kUnknownSession,
  kTooLarge,
  kTooManySessions,
  kOverloaded,
  kUpstreamFailed,
  kInternal,
  kUnknownServerCode,
  // local codes (never sent by the server)
  kConnectionLost,     // the connection dropped or went silent; the client reconnects
  kTimeout,            // no answer in time (handshake, session open, a deferred request)
  kNotConnected,       // the request could not be sent and was given up
  kQueueFull,          // a bounded hand-over queue was full; the request was refused
  kVersionMismatch,    // the server speaks another protocol version; the client stops
  kInvalidMessage,     // the server sent something this client cannot decode (skipped)
  kStreamGap,          // audio or face frames out of order (skipped)
  kSessionLost,        // a session could not be resumed and was reopened (memory lost)
  kAuthFailed,         // the CurveZMQ handshake failed
  kTransport,          // a ZeroMQ call failed
  kCancelled,          // a queued request was dropped by an interrupt or a close
};

// The code's wire or local name ("unknown_session", "connection_lost").
const char* ErrorCodeName(ErrorCode code);
// A server code string -> its code; kUnknownServerCode for strings this client lacks.
ErrorCode ParseErrorCode(const char* name, size_t length);
// True for the codes this client raises itself.
bool IsLocalErrorCode(ErrorCode code);

}  // namespace merg
