"""`merg`: serve, make Curve keys, run the demo, run the benchmark."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from merg_sdk.outputs.cli import relay_app
from merg_sdk.protocol.constants import DEFAULT_HOST, DEFAULT_PORT
from merg_sdk.render.cli import register as register_render
from merg_sdk.viewer.cli import register as register_viewer

app = typer.Typer(help="MERG SDK: an empathetic avatar engine.", no_args_is_help=True)
console = Console()


@app.command()
def serve(
    port: Annotated[int, typer.Option(help="TCP port for the ROUTER socket.")] = DEFAULT_PORT,
    host: Annotated[
        str, typer.Option(help="Address to bind (loopback by default).")
    ] = DEFAULT_HOST,
    insecure: Annotated[
        bool, typer.Option(help="Allow a non-loopback bind without CurveZMQ keys.")
    ] = False,
    server_key: Annotated[
        Path | None, typer.Option(help="Server secret key file from `merg keys` (CurveZMQ).")
    ] = None,
    allow_clients: Annotated[
        Path | None, typer.Option(help="Folder of allowed client public keys (*.key).")
    ] = None,
    idle_timeout: Annotated[
        float, typer.Option(help="Seconds before a silent client is gone.")
    ] = 60.0,
    personas: Annotated[
        list[Path] | None, typer.Option(help="Folder of persona YAML files (repeatable).")
    ] = None,
    empathy: Annotated[
        bool, typer.Option(help="Load perception and the LLM for user.text turns.")
    ] = True,
    llm_backend: Annotated[
        str, typer.Option(help="llamacpp, transformers or openai.")
    ] = "llamacpp",
    llm_model: Annotated[
        str | None, typer.Option(help="GGUF path, Hugging Face model, or served model name.")
    ] = None,
    llm_endpoint: Annotated[
        str, typer.Option(help="Base URL of an OpenAI-compatible server.")
    ] = "http://127.0.0.1:8080/v1",
    flame_model: Annotated[
        Path | None, typer.Option(help="A FLAME model file you supply: turns on the flame rig.")
    ] = None,
    hearing: Annotated[
        bool, typer.Option(help="Load VAD and speech recognition for user.audio turns.")
    ] = True,
    tts: Annotated[str, typer.Option(help="Speech engine: piper or riva.")] = "piper",
    asr: Annotated[str, typer.Option(help="Speech recognition: whisper or riva.")] = "whisper",
    riva_uri: Annotated[
        str, typer.Option(help="Riva server host:port (key: MERG_RIVA_API_KEY env).")
    ] = "localhost:50051",
    riva_ssl: Annotated[bool, typer.Option(help="TLS to the Riva server.")] = False,
    riva_ca: Annotated[
        Path | None, typer.Option(help="PEM bundle to trust for the Riva server.")
    ] = None,
    riva_voice: Annotated[
        str | None, typer.Option(help="Riva voice sessions get by default.")
    ] = None,
    barge_in: Annotated[bool, typer.Option(help="The user's speech interrupts the avatar.")] = True,
    observer: Annotated[
        bool, typer.Option(help="Republish every session for watchers (viewer, recorder).")
    ] = False,
    viewer: Annotated[
        bool, typer.Option(help="Also serve the browser viewer (turns the observer on).")
    ] = False,
    viewer_port: Annotated[int, typer.Option(help="HTTP port of the browser viewer.")] = 8765,
    observer_port: Annotated[
        int | None, typer.Option(help="Port of the observer stream (default: port + 1).")
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the server until Ctrl-C."""
    from pydantic import ValidationError

    from merg_sdk.empathy.llm.factory import LLMConfig
    from merg_sdk.perception.hearing.riva import RivaASRSettings
    from merg_sdk.server import Limits, MergServer, ServerConfig
    from merg_sdk.server.config import EmpathyConfig
    from merg_sdk.server.hearing import HearingConfig
    from merg_sdk.speech.backends import TTSConfig
    from merg_sdk.speech.backends.riva import RivaTTSSettings
    from merg_sdk.speech.riva_config import RivaConnection
    from merg_sdk.upstream import UpstreamError

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        riva = RivaConnection(
            uri=riva_uri,
            use_ssl=riva_ssl,
            ssl_root_cert=riva_ca,
            api_key=os.environ.get("MERG_RIVA_API_KEY") or None,
        )
        config = ServerConfig(
            host=host,
            port=port,
            insecure=insecure,
            server_secret_key=server_key,
            allowed_clients=allow_clients,
            limits=Limits(idle_timeout_s=idle_timeout),
            flame_model=flame_model,
            observer=observer or viewer,
            observer_port=observer_port,
            hearing=HearingConfig(
                enabled=hearing,
                barge_in=barge_in,
                recognizer=asr,
                riva=RivaASRSettings(connection=riva),
            ),
            tts=TTSConfig(
                backend=tts,
                riva=RivaTTSSettings(connection=riva, default_voice=riva_voice),
            ),
            empathy=EmpathyConfig(
                enabled=empathy,
                persona_dirs=tuple(personas or ()),
                llm=LLMConfig(
                    backend=llm_backend, model=llm_model, endpoint=llm_endpoint, parallel=4
                ),
            ),
        )
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            console.print(f"[red]error:[/red] {error['msg']}")
        raise typer.Exit(2) from None
    with console.status("loading the voice and warming up"):
        server = MergServer(config)
    try:
        if viewer:
            from merg_sdk.viewer.cli import serve_with_viewer

            asyncio.run(serve_with_viewer(server, port=viewer_port))
        else:
            asyncio.run(server.serve_forever())
    except KeyboardInterrupt:
        console.print("stopped")
    except UpstreamError as error:  # a service is down (Riva, say): say so, no traceback
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(1) from None


@app.command()
def keys(
    directory: Annotated[Path, typer.Argument(help="Folder to write the key files into.")],
    name: Annotated[str, typer.Option(help="Base name of the key files.")] = "server",
) -> None:
    """Make a CurveZMQ key pair: NAME.key (public, share it) and NAME.key_secret (keep it)."""
    from merg_sdk.server.security import make_key_pair

    public, secret = make_key_pair(directory, name)
    console.print(f"public key: {public}\nsecret key: {secret}")


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Folder for the WAV and CSV files.")] = Path(
        "merg-demo-output"
    ),
    rate: Annotated[int, typer.Option(help="Session sample rate in Hz.")] = 22050,
    fps: Annotated[int, typer.Option(help="Face frames per second.")] = 60,
) -> None:
    """Start a server, have the avatar say a few lines, write each line's audio and face."""
    from merg_sdk.demo import run_demo

    run_demo(out, sample_rate=rate, fps=fps, console=console)


@app.command()
def bench(
    runs: Annotated[int, typer.Option(help="Say turns timed for latency.")] = 20,
    sessions: Annotated[int, typer.Option(help="Concurrent sessions for the load test.")] = 16,
) -> None:
    """Print latency, real-time factors and concurrency figures for this machine."""
    from merg_sdk.bench import run_bench

    run_bench(runs=runs, concurrent_sessions=sessions, console=console)


@app.command("evaluate-empathy")
def evaluate_empathy(
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Skip the LLM (fallbacks).")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N turns.")] = None,
    e2e: Annotated[int, typer.Option(help="Turns timed user.text -> first audio.")] = 8,
    json: Annotated[Path | None, typer.Option(help="Save the metrics as JSON here.")] = None,
    dataset: Annotated[
        Path | None,
        typer.Option("--set", help="Another labelled set in evaluation.yaml's form."),
    ] = None,
    show_items: Annotated[
        bool, typer.Option(help="List the texts of missed crises and false alarms.")
    ] = False,
) -> None:
    """Measure the chain of empathy on its labelled set and print the tables."""
    from merg_sdk.empathy.evaluate import run_evaluation

    try:
        run_evaluation(
            use_llm=not no_llm,
            limit=limit,
            e2e=e2e,
            json_path=json,
            console=console,
            path=dataset,
            show_items=show_items,
        )
    except (OSError, ValueError) as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error


@app.command("evaluate-safety")
def evaluate_safety(
    path: Annotated[Path, typer.Argument(help="A labelled YAML set (crisis: / safe: lists).")],
    show_items: Annotated[
        bool, typer.Option(help="List the missed and wrongly flagged messages.")
    ] = False,
) -> None:
    """Measure the server's crisis detector on a labelled set of your own."""
    from merg_sdk.empathy.evaluate_safety import load_labelled_set, report, score
    from merg_sdk.empathy.safety import SemanticSafety

    try:
        items = load_labelled_set(path)
    except ValueError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(2) from error
    with console.status(f"{len(items)} messages through the crisis detector"):
        detect = SemanticSafety.load()  # as the server's
        scores = score(items, detect)
    report(scores, console, show_items=show_items)


app.add_typer(relay_app, name="relay")
register_viewer(app)
register_render(app)

if __name__ == "__main__":
    app()
