"""MessagePack framing and validation: one ZeroMQ frame is one map.

Decoding never trusts the peer: any failure becomes a `ProtocolError` with
a stable code and the offending `seq` (when it could be read), which the
server answers with an `error` and then carries on.
"""

from __future__ import annotations

import dataclasses
import typing
from functools import cache
from typing import Any

import msgpack
from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from merg_sdk.protocol.constants import PROTOCOL_VERSION
from merg_sdk.protocol.errors import ErrorCode, ProtocolError
from merg_sdk.protocol.messages import Message

_ENVELOPE_KEYS = frozenset({"v", "type", "seq"})


@cache
def _validator(cls: type[Message]) -> type[BaseModel]:
    """A strict pydantic model mirroring the dataclass: no "60" for 60, no True for 1.0."""
    hints = typing.get_type_hints(cls, include_extras=True)
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default: Any = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = ...
        fields[f.name] = (hints[f.name], default)
    config = ConfigDict(strict=True, extra="ignore")
    return create_model(f"{cls.__name__}Wire", __config__=config, **fields)


@cache
def _field_names(cls: type[Message]) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def to_wire(message: Message, seq: int) -> dict[str, Any]:
    """The message as the map that goes on the wire (None-valued optionals left out)."""
    wire: dict[str, Any] = {"v": PROTOCOL_VERSION, "type": message.TYPE, "seq": seq}
    for name in _field_names(type(message)):
        value = getattr(message, name)
        if value is not None:
            wire[name] = value
    return wire


def encode(message: Message, seq: int) -> bytes:
    return msgpack.packb(to_wire(message, seq), use_bin_type=True)


def _read_seq(envelope: dict[Any, Any]) -> int | None:
    seq = envelope.get("seq")
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def read_envelope(data: bytes) -> tuple[dict[str, Any], str, int | None]:
    """Unpack a frame and check its envelope; returns (map, type, seq)."""
    try:
        envelope = msgpack.unpackb(data, raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"not MessagePack ({type(exc).__name__})"
        ) from None
    if not isinstance(envelope, dict):
        kind = type(envelope).__name__
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"a message must be a map, got {kind}")
    seq = _read_seq(envelope)
    version = envelope.get("v")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing or non-integer 'v'", ref=seq)
    if version != PROTOCOL_VERSION:
        raise ProtocolError(
            ErrorCode.UNSUPPORTED_VERSION,
            f"protocol version {version} is not supported; this server speaks {PROTOCOL_VERSION}",
            ref=seq,
        )
    kind = envelope.get("type")
    if not isinstance(kind, str):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "missing or non-string 'type'", ref=seq)
    return envelope, kind, seq


def decode(data: bytes, registry: dict[str, type[Message]]) -> tuple[Message, int | None]:
    """Decode and validate one frame against `registry`; returns (message, seq)."""
    envelope, kind, seq = read_envelope(data)
    cls = registry.get(kind)
    if cls is None:
        raise ProtocolError(ErrorCode.UNSUPPORTED, f"unknown message type {kind!r}", ref=seq)
    body = {k: v for k, v in envelope.items() if k not in _ENVELOPE_KEYS and isinstance(k, str)}
    try:
        validated = _validator(cls).model_validate(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or kind}: {err['msg']}"
            for err in exc.errors(include_url=False)
        )
        sid = body.get("sid") if isinstance(body.get("sid"), str) else None
        raise ProtocolError(
            ErrorCode.BAD_MESSAGE, f"invalid {kind!r}: {problems}", sid=sid, ref=seq
        ) from None
    return cls(**dict(validated)), seq
