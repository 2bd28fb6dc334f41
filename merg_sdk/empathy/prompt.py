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
    """System prefix, earlier exchanges exactly as they were sent, then this turn.

    Everything before this turn's message is what the engine saw last turn plus its
    reply, so the prompt cache covers it; what changes from turn to turn (the plan,
    what the user shared earlier) rides in this turn's message only.
    """
    messages = [ChatMessage("system", system_prompt(persona))]
    for exchange in memory.recent[:-1]:
        messages.append(ChatMessage("user", exchange.prompt or exchange.user))
        if exchange.avatar:
            messages.append(ChatMessage("assistant", exchange.avatar))
    remembered = memory.summary + [f"they told you {fact}" for fact in memory.facts]
    context = f" Earlier: {'; '.join(remembered)}." if remembered else ""
    prompt = f"{user_text}\n({plan_note}{context})"
    if memory.recent:
        memory.recent[-1].prompt = prompt
    messages.append(ChatMessage("user", prompt))
    return messages
