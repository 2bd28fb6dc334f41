"""Stable error codes: clients switch on these strings, so they never change meaning."""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    BAD_MESSAGE = "bad_message"
    """Not MessagePack, not a map, or a field missing, of the wrong type or out of range."""
    HELLO_REQUIRED = "hello_required"
    """A message other than `hello` arrived before the handshake."""
    UNSUPPORTED_VERSION = "unsupported_version"
    """The envelope's `v` is a protocol version this server does not speak."""
    UNSUPPORTED = "unsupported"
    """An unknown message type, or a rig, fps, sample rate, voice or emotion not offered."""
    UNKNOWN_SESSION = "unknown_session"
    """The `sid` names no session of this client (or none that can be resumed)."""
    TOO_LARGE = "too_large"
    """The message, or a text in it, is over the server's limit."""
    TOO_MANY_SESSIONS = "too_many_sessions"
    """The per-client or server-wide session limit is reached."""
    OVERLOADED = "overloaded"
    """The server or this client's stream cannot keep up; the turn was ended."""
    UPSTREAM_FAILED = "upstream_failed"
    """A model backend (the LLM, a Riva server) failed or timed out; the avatar answered
    with a fallback and the turn ends with reason `error`."""
    INTERNAL = "internal"
    """A fault inside the server; the session survives."""


class ProtocolError(Exception):
    """Raised while handling a message; the server turns it into an `error` reply."""

    def __init__(
        self, code: ErrorCode, message: str, sid: str | None = None, ref: int | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.sid = sid
        self.ref = ref
