"""The MERG wire protocol, version 1: message types, envelope, codec, errors.

Defined once here; the C++ and C# cores mirror these names and constants.
See docs/protocol.md for the prose contract.
"""

from merg_sdk.protocol.codec import decode, encode, to_wire
from merg_sdk.protocol.constants import (
    DEFAULT_PORT,
    PROTOCOL_VERSION,
    SUPPORTED_FPS,
    SUPPORTED_SAMPLE_RATES_HZ,
)
from merg_sdk.protocol.errors import ErrorCode, ProtocolError
from merg_sdk.protocol.messages import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    Audio,
    Error,
    Face,
    Flame,
    Hello,
    Interrupt,
    Message,
    Ping,
    Playback,
    Pong,
    Reasoning,
    Reply,
    Safety,
    Say,
    SessionClose,
    SessionClosed,
    SessionOpen,
    SessionOpened,
    TurnEnd,
    TurnStart,
    UserAffect,
    UserText,
    Welcome,
)

__all__ = [
    "CLIENT_MESSAGES",
    "DEFAULT_PORT",
    "PROTOCOL_VERSION",
    "SERVER_MESSAGES",
    "SUPPORTED_FPS",
    "SUPPORTED_SAMPLE_RATES_HZ",
    "Audio",
    "Error",
    "ErrorCode",
    "Face",
    "Flame",
    "Hello",
    "Interrupt",
    "Message",
    "Ping",
    "Playback",
    "Pong",
    "ProtocolError",
    "Reasoning",
    "Reply",
    "Safety",
    "Say",
    "SessionClose",
    "SessionClosed",
    "SessionOpen",
    "SessionOpened",
    "TurnEnd",
    "TurnStart",
    "UserAffect",
    "UserText",
    "Welcome",
    "decode",
    "encode",
    "to_wire",
]
