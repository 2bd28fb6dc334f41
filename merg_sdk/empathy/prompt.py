"""The LLM's prompt: a static persona prefix (kept in the engine's cache) and an
append-only conversation whose last message carries this turn's plan."""

from __future__ import annotations

from merg_sdk.empathy.llm.base import ChatMessage
from merg_sdk.empathy.memory import ConversationMemory
from merg_sdk.empathy.persona import Persona


def system_prompt(persona: Persona) -> str:
    boundaries = "".join(f"\n- {rule}" for rule in persona.boundaries)
    return (
        f"You are {persona.name}, {persona.role}. {persona.backstory}\n"
        f"Speak {persona.speaking_style}. Answer in one to three short sentences, "
        f"spoken aloud: no lists, no stage directions, no emojis.{boundaries}"
    )


def build_messages(
    persona: Persona, memory: ConversationMemory, user_text: str, plan_note: str
) -> list[ChatMessage]:
    """System prefix, remembered context, earlier exchanges verbatim, then this turn."""
    messages = [ChatMessage("system", system_prompt(persona))]
    remembered = memory.summary + [f"The user told you: {fact}." for fact in memory.facts]
    if remembered:
        messages.append(ChatMessage("system", "Earlier: " + " ".join(remembered)))
    for exchange in memory.recent[:-1]:
        messages.append(ChatMessage("user", exchange.user))
        if exchange.avatar:
            messages.append(ChatMessage("assistant", exchange.avatar))
    messages.append(ChatMessage("user", f"{user_text}\n({plan_note})"))
    return messages
