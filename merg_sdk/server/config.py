"""Server configuration: every limit has a name, a default and a validated range."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from merg_sdk.empathy.llm.factory import LLMConfig
from merg_sdk.netaddr import is_loopback
from merg_sdk.protocol.constants import DEFAULT_HOST, DEFAULT_PORT
from merg_sdk.server.hearing import HearingConfig
from merg_sdk.speech.backends import TTSConfig


class Limits(BaseModel):
    """What one client, and the server as a whole, may ask for."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_message_bytes: int = Field(1 << 20, ge=1024)
    """Larger messages are answered with `too_large`."""
    transport_max_message_bytes: int = Field(16 << 20, ge=1024)
    """ZeroMQ's own cap (maxmsgsize): a peer sending more is disconnected by libzmq."""
    max_sessions_per_client: int = Field(8, ge=1)
    max_sessions: int = Field(64, ge=1)
    max_text_chars: int = Field(2000, ge=1)
    max_animate_s: float = Field(900.0, gt=0)
    """Longest `animate` utterance (seconds of audio) before `too_large`."""
    idle_timeout_s: float = Field(60.0, gt=0)
    """A client silent this long (no message, not even `ping`) is gone; its sessions
    are detached, and freed unless resumed within another idle_timeout_s."""
    outbox_bytes: int = Field(8 << 20, ge=64 << 10)
    """Per-client bytes queued in the server before a turn is held back."""
    send_hwm: int = Field(1000, ge=1)
    """ZeroMQ's send high-water mark per client, in messages, before the outbox holds back."""
    socket_send_buffer_bytes: int = Field(0, ge=0)
    """The kernel's send buffer per connection (SO_SNDBUF); 0 keeps the OS default. Smaller
    means a client that falls behind is noticed sooner, with less audio in flight."""
    resume_takeover_s: float = Field(10.0, ge=0)
    """`resume` may take a session from a client only after that client has been silent
    this long (a reconnect from a new socket); a live client keeps its session."""
    stall_timeout_s: float = Field(10.0, gt=0)
    """A client that takes nothing for this long while its turn waits gets `overloaded`."""


class EmpathyConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    """Load text perception and the LLM at start; without them `user.text` is unsupported."""
    llm: LLMConfig = LLMConfig(parallel=4)
    """Four slots: concurrent conversations share the CPU instead of queueing past the
    first-token timeout."""
    persona_dirs: tuple[Path, ...] = ()
    """Folders of persona YAML files, in addition to the built-in ones."""
    default_persona: str = "companion"
    max_reply_tokens: int = Field(90, ge=8, le=1024)
    first_token_timeout_s: float = Field(4.0, gt=0)
    """The longest silence from the LLM before the avatar answers with its fallback."""
    temperature: float = Field(0.6, ge=0)
    opener: bool = True
    """Say a short acknowledgement at once ("Oh no.") while the LLM writes the reply."""


class ServerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = DEFAULT_HOST
    port: int = Field(DEFAULT_PORT, ge=0, le=65535)
    insecure: bool = False
    """Allow binding a non-loopback address without CurveZMQ keys."""
    server_secret_key: Path | None = None
    """A `merg keys` secret key file; turns CurveZMQ on."""
    allowed_clients: Path | None = None
    """A folder of client public key files; only those clients may connect."""
    audio_chunk_ms: int = Field(200, ge=10, le=2000)
    """Audio is sent in chunks this long, each preceded by the face frames it covers."""
    warm_up: bool = True
    flame_model: Path | None = None
    """A FLAME model file (generic_model.pkl / flame2023.pkl / .npz) the user supplies:
    turns on the `flame` rig. Its ARKit mapping is fitted once and cached."""
    flame_expression: int = Field(50, ge=1, le=100)
    flame_cache_dir: Path | None = None
    observer: bool = False
    """Republish every session's messages on an XPUB socket for watchers (viewer, recorder)."""
    observer_port: int | None = Field(None, ge=0, le=65535)
    """The observer's port; None = the server's port + 1 (a random port when port is 0)."""
    limits: Limits = Limits()
    empathy: EmpathyConfig = EmpathyConfig()
    hearing: HearingConfig = HearingConfig()
    tts: TTSConfig = TTSConfig()
    """The speech engine: Piper (embedded, default) or an NVIDIA Riva server."""

    @model_validator(mode="after")
    def _check_exposure(self) -> ServerConfig:
        if self.allowed_clients is not None and self.server_secret_key is None:
            raise ValueError("allowed_clients needs server_secret_key (CurveZMQ)")
        if self.observer and self.observer_port is None and self.port == 65535:
            raise ValueError("port 65535 leaves no port + 1 for the observer: set observer_port")
        if not is_loopback(self.host) and self.server_secret_key is None and not self.insecure:
            raise ValueError(
                f"refusing to bind {self.host!r} without CurveZMQ keys: anyone on the network "
                "could drive the avatar; pass server keys, or insecure=True (--insecure)"
            )
        return self

    @property
    def endpoint(self) -> str:
        return f"tcp://{self._bind_host}:{self.port}"

    @property
    def observer_endpoint(self) -> str:
        port = self.observer_port
        if port is None:
            port = self.port + 1 if self.port else 0
        return f"tcp://{self._bind_host}:{port}"

    @property
    def _bind_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host
