"""LLM backends behind one streaming interface: `LanguageModel.stream` yields text deltas.

Backends, one module each: `llamacpp` (embedded default, SmolLM2 GGUF on
CPU), `transformers_backend` (any Hugging Face causal LM, GPU when there is
one; needs the optional torch extra), `openai_compatible` (vLLM, llama.cpp
server, TGI...). Importing this package loads none of them.
"""

from merg_sdk.empathy.llm.base import (
    ChatMessage,
    GenerationConfig,
    LanguageModel,
    LLMError,
    LLMErrorCode,
)
from merg_sdk.empathy.llm.factory import LLMConfig, create_language_model

__all__ = [
    "ChatMessage",
    "GenerationConfig",
    "LLMConfig",
    "LLMError",
    "LLMErrorCode",
    "LanguageModel",
    "create_language_model",
]
