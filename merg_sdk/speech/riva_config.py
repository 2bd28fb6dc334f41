"""How to reach an NVIDIA Riva server, shared by Riva speech synthesis and recognition.

One `RivaConnection` says where the server is, how to trust it (TLS, mutual
TLS), how to authenticate (an API key, extra metadata such as NVCF's
`function-id`) and how long to wait. `open_channel` turns it into a gRPC
channel; `wait_ready` fails in milliseconds on a refused connection and
within `connect_timeout_s` on an unreachable one, so a down Riva costs a turn
an error, never a hang. Every failure becomes a `RivaError` with a stable code.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from merg_sdk.netaddr import host_of, is_loopback
from merg_sdk.upstream import UpstreamError

if TYPE_CHECKING:
    import grpc

DEFAULT_URI = "localhost:50051"
RECONNECT_BACKOFF_MS = (200, 2000)
"""First and longest wait between reconnects: a restarted Riva is found again within
two seconds instead of gRPC's default two minutes."""


class RivaErrorCode(StrEnum):
    """Stable codes: callers map them to protocol errors and retry decisions."""

    UNAVAILABLE = "unavailable"
    """The server cannot be reached, refused the connection, or is shutting down."""
    TIMEOUT = "timeout"
    """No connection, first audio or final transcript within its configured timeout."""
    UNAUTHENTICATED = "unauthenticated"
    """The API key or metadata was refused."""
    BAD_REQUEST = "bad_request"
    """The server rejected the request (unknown voice, bad SSML, unsupported rate)."""
    BAD_RESPONSE = "bad_response"
    """The server answered something unusable (odd-length PCM, no results)."""
    SERVER_ERROR = "server_error"
    """The server failed the request itself."""


class RivaError(UpstreamError):
    """A failed Riva call, with a stable `code` and a message for people."""

    def __init__(self, code: RivaErrorCode | str, message: str) -> None:
        self.code = RivaErrorCode(code)
        self.message = message
        super().__init__(f"riva {self.code.value}: {message}")


class RivaConnection(BaseModel):
    """Where the Riva server is and how to talk to it securely."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    uri: str = DEFAULT_URI
    """host:port of the gRPC endpoint (e.g. grpc.nvcf.nvidia.com:443 for NVIDIA's cloud)."""
    use_ssl: bool = False
    """TLS with the system's root certificates (or `ssl_root_cert`)."""
    ssl_root_cert: Path | None = None
    """A PEM bundle to trust instead of the system's (a self-hosted server's CA); implies TLS."""
    ssl_client_cert: Path | None = None
    """Mutual TLS: this client's PEM certificate chain (with `ssl_client_key`)."""
    ssl_client_key: Path | None = None
    tls_server_name: str | None = None
    """Check the server's certificate against this name instead of the host in `uri`."""
    api_key: SecretStr | None = None
    """Sent as `authorization: Bearer <key>` on every call."""
    metadata: tuple[tuple[str, str], ...] = ()
    """Extra call metadata, e.g. (("function-id", "..."),) for NVIDIA's hosted functions."""
    connect_timeout_s: float = Field(3.0, gt=0, le=60)
    """The longest wait for a connection before a call fails with `unavailable`."""

    @model_validator(mode="after")
    def _check(self) -> RivaConnection:
        if (self.ssl_client_cert is None) != (self.ssl_client_key is None):
            raise ValueError("mutual TLS needs both ssl_client_cert and ssl_client_key")
        if self.api_key is not None and not self.tls and not is_loopback(host_of(self.uri)):
            raise ValueError(
                f"refusing to send the Riva API key in clear text to {self.uri}: "
                "set use_ssl (or ssl_root_cert)"
            )
        for key, _ in self.metadata:
            if key != key.lower() or not key:
                raise ValueError(f"gRPC metadata keys are lower-case and non-empty, got {key!r}")
        return self

    @property
    def tls(self) -> bool:
        return self.use_ssl or self.ssl_root_cert is not None or self.ssl_client_cert is not None

    def call_metadata(self) -> tuple[tuple[str, str], ...]:
        """What every call carries: the API key first, then the configured metadata."""
        if self.api_key is None:
            return self.metadata
        return (("authorization", f"Bearer {self.api_key.get_secret_value()}"), *self.metadata)


def open_channel(connection: RivaConnection) -> grpc.Channel:
    """A gRPC channel for `connection`; certificate files are read now, so a missing file
    fails at start-up, not on the first line the avatar speaks."""
    import grpc

    low, high = RECONNECT_BACKOFF_MS
    options: list[tuple[str, int | str]] = [
        ("grpc.initial_reconnect_backoff_ms", low),
        ("grpc.max_reconnect_backoff_ms", high),
        # gRPC also takes this as each connection attempt's time limit (default 20 s)
        ("grpc.min_reconnect_backoff_ms", round(connection.connect_timeout_s * 1000)),
        ("grpc.max_receive_message_length", 64 << 20),
    ]
    if connection.tls_server_name:
        options.append(("grpc.ssl_target_name_override", connection.tls_server_name))
    if not connection.tls:
        return grpc.insecure_channel(connection.uri, options=options)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=_read(connection.ssl_root_cert),
        private_key=_read(connection.ssl_client_key),
        certificate_chain=_read(connection.ssl_client_cert),
    )
    return grpc.secure_channel(connection.uri, credentials, options=options)


def wait_ready(channel: grpc.Channel, connection: RivaConnection) -> None:
    """Return once the channel is connected; raise `unavailable` as soon as the connection
    is refused (milliseconds) or after `connect_timeout_s` when nothing answers."""
    import grpc

    states = grpc.ChannelConnectivity
    settled = threading.Event()
    seen: list[grpc.ChannelConnectivity] = []

    def watch(state: grpc.ChannelConnectivity) -> None:
        seen.append(state)
        if state in (states.READY, states.TRANSIENT_FAILURE, states.SHUTDOWN):
            settled.set()

    channel.subscribe(watch, try_to_connect=True)
    try:
        settled.wait(connection.connect_timeout_s)
    finally:
        channel.unsubscribe(watch)
    last = seen[-1] if seen else None
    if last == states.READY:
        return
    if last in (states.TRANSIENT_FAILURE, states.SHUTDOWN):
        raise RivaError(RivaErrorCode.UNAVAILABLE, f"cannot connect to {connection.uri}")
    raise RivaError(
        RivaErrorCode.UNAVAILABLE,
        f"no connection to {connection.uri} within {connection.connect_timeout_s:g} s",
    )


def error_from_rpc(error: grpc.RpcError, what: str) -> RivaError:
    """Map a gRPC status to a stable code; the server's own words stay in the message."""
    import grpc

    status = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else str(error)
    codes = {
        grpc.StatusCode.UNAVAILABLE: RivaErrorCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED: RivaErrorCode.TIMEOUT,
        grpc.StatusCode.UNAUTHENTICATED: RivaErrorCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED: RivaErrorCode.UNAUTHENTICATED,
        grpc.StatusCode.INVALID_ARGUMENT: RivaErrorCode.BAD_REQUEST,
        grpc.StatusCode.NOT_FOUND: RivaErrorCode.BAD_REQUEST,
        grpc.StatusCode.OUT_OF_RANGE: RivaErrorCode.BAD_REQUEST,
        grpc.StatusCode.FAILED_PRECONDITION: RivaErrorCode.BAD_REQUEST,
        grpc.StatusCode.UNIMPLEMENTED: RivaErrorCode.BAD_REQUEST,
    }
    code = codes.get(status, RivaErrorCode.SERVER_ERROR)
    name = status.name if status is not None else "ERROR"
    return RivaError(code, f"{what} failed ({name}): {details}")


def _read(path: Path | None) -> bytes | None:
    return None if path is None else path.expanduser().read_bytes()
