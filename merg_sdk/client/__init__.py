"""The Python SDK for MERG servers: blocking (`MergClient`) and asyncio (`AsyncMergClient`)."""

from merg_sdk.client.aio import AsyncMergClient, AsyncSession, AsyncTurn
from merg_sdk.client.events import (
    AudioChunk,
    FaceFrames,
    FlameParams,
    HeardEvent,
    MergError,
    ReasoningChain,
    ReplyText,
    SafetyAlert,
    SpeechHeard,
    TranscriptHeard,
    TurnEnded,
    TurnEvent,
    TurnResult,
    TurnStarted,
    UserAffectRead,
    VoiceTurn,
)
from merg_sdk.client.sync import MergClient, MergSession, MergTurn

__all__ = [
    "AsyncMergClient",
    "AsyncSession",
    "AsyncTurn",
    "AudioChunk",
    "FaceFrames",
    "FlameParams",
    "HeardEvent",
    "MergClient",
    "MergError",
    "MergSession",
    "MergTurn",
    "ReasoningChain",
    "ReplyText",
    "SafetyAlert",
    "SpeechHeard",
    "TranscriptHeard",
    "TurnEnded",
    "TurnEvent",
    "TurnResult",
    "TurnStarted",
    "UserAffectRead",
    "VoiceTurn",
]
