"""`merg record` and `merg render`; the main CLI mounts them with `register(app)`."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from merg_sdk.protocol.constants import DEFAULT_HOST, DEFAULT_PORT

console = Console()
DEFAULT_ENDPOINT = f"tcp://{DEFAULT_HOST}:{DEFAULT_PORT}"


def record(
    out: Annotated[Path, typer.Argument(help="The recording to write (.merg).")],
    server: Annotated[str, typer.Option(help="The MERG server's endpoint.")] = DEFAULT_ENDPOINT,
    say: Annotated[
        str | None, typer.Option(help="Open a session, say this line, record the turn.")
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(help="Open a session, send this as the user's words, record the reply."),
    ] = None,
    emotion: Annotated[str | None, typer.Option(help="Emotion of the --say line.")] = None,
    intensity: Annotated[float | None, typer.Option(help="Its intensity, 0..1.")] = None,
    fps: Annotated[int, typer.Option(help="Face frames per second of the session.")] = 60,
    sample_rate: Annotated[int, typer.Option(help="Audio sample rate of the session.")] = 22050,
    voice: Annotated[str | None, typer.Option(help="A voice the server offers.")] = None,
    session: Annotated[
        str, typer.Option(help="Session id to watch on the observer stream (default: all).")
    ] = "",
    observer: Annotated[
        str | None,
        typer.Option(help="Observer endpoint; default: the one the server names in its welcome."),
    ] = None,
    rig: Annotated[
        str, typer.Option(help="Rig names for sessions whose session.opened never arrives.")
    ] = "arkit52",
    turns: Annotated[int | None, typer.Option(help="Stop after this many turns.")] = None,
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    server_key: Annotated[
        Path | None, typer.Option(help="The server's public key file (CurveZMQ).")
    ] = None,
    client_key: Annotated[
        Path | None, typer.Option(help="This client's secret key file, for allow-lists.")
    ] = None,
) -> None:
    """Record a session to a .merg file: watch one on the observer stream (a server started
    with --observer) until Ctrl-C, --turns or --duration; or, with --say/--text, open a
    session, record its one turn and stop."""
    from merg_sdk.client import MergError
    from merg_sdk.render.recorder import (
        discover_observer,
        observer_endpoint,
        record_observer,
        record_turn,
    )

    if say is not None and text is not None:
        raise typer.BadParameter("give --say or --text, not both")
    keys = {"server_public_key": server_key, "client_secret_key": client_key}
    keys = {k: v for k, v in keys.items() if v is not None}
    if say is not None or text is not None:
        try:
            turn = record_turn(
                out,
                say if say is not None else str(text),
                endpoint=server,
                user_text=text is not None,
                emotion=emotion,
                intensity=intensity,
                fps=fps,
                sample_rate=sample_rate,
                voice=voice,
                **keys,
            )
        except (MergError, TimeoutError) as exc:
            console.print(f"[red]error:[/red] {exc or 'no answer from ' + server}")
            raise typer.Exit(1) from None
        console.print(
            f"{out}: turn {turn.turn} ({turn.reason}), {turn.audio_s:.2f} s of audio, "
            f"{len(turn.weights)} face frames: {turn.text!r}"
        )
        return
    watched = observer
    if watched is None:
        try:  # the server announces its observer's real port in `welcome`
            watched = discover_observer(server, timeout_s=5.0, **keys)
        except TimeoutError:
            watched = observer_endpoint(server)
            console.print(f"[yellow]no answer from {server}; trying {watched}[/yellow]")
        except RuntimeError as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    console.print(f"watching {session or 'every session'} on {watched}; Ctrl-C to stop")
    with console.status("recording...") as status:
        summary = record_observer(
            out,
            watched,
            sid=session,
            rig=rig,
            turns=turns,
            duration_s=duration,
            on_message=lambda m: status.update(f"recording... last: {m.get('type')}"),
            server_public_key=server_key,
            client_secret_key=client_key,
        )
    console.print(
        f"{out}: {summary.records} messages, {summary.turns} turns, "
        f"{len(summary.sessions)} session(s) in {summary.seconds:.1f} s ({summary.stopped_by})"
    )


def render(
    recording: Annotated[Path, typer.Argument(help="A .merg recording.")],
    out: Annotated[Path, typer.Argument(help="The video to write (.mp4).")],
    turn: Annotated[int | None, typer.Option(help="Render only this turn number.")] = None,
    session: Annotated[
        str | None, typer.Option(help="Only this session's turns (recordings of several).")
    ] = None,
    size: Annotated[int, typer.Option(help="Width and height in pixels.")] = 640,
    fps: Annotated[int, typer.Option(help="Video frames per second.")] = 30,
    head: Annotated[
        Path | None, typer.Option(help="A glTF/GLB head with ARKit-named morph targets.")
    ] = None,
    crf: Annotated[int, typer.Option(help="x264 quality (lower is better, 18-28).")] = 20,
    msaa: Annotated[
        int, typer.Option(help="Anti-aliasing: 4 smooths edges, at 2-4x the render time.")
    ] = 0,
) -> None:
    """Render the face of a recording to an MP4 (H.264 + AAC) on the CPU, offscreen.
    Without --turn, every turn is rendered, back to back."""
    from merg_sdk.render.head import HeadError
    from merg_sdk.render.recording import Recording, RecordingError
    from merg_sdk.render.video import render_turns

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            loaded = Recording.load(recording)
            chosen = [t for t in loaded.turns() if session in (None, t.sid)]
            if turn is not None:
                chosen = [t for t in chosen if t.turn == turn]
            if not chosen:
                have = ", ".join(str(t.turn) for t in loaded.turns()) or "none"
                raise typer.BadParameter(f"no such turn in {recording} (turns: {have})")
            stats = render_turns(chosen, out, head=head, size=size, fps=fps, crf=crf, samples=msaa)
        except (HeadError, RecordingError, FileNotFoundError) as exc:
            _print_warnings(caught)
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
    _print_warnings(caught)
    console.print(
        f"{out}: {stats.frames} frames, {stats.video_s:.2f} s; render {stats.render_ms:.1f} "
        f"ms/frame, encode {stats.encode_ms:.1f} ms/frame, {stats.rtf:.2f}x real time"
    )


def _print_warnings(caught: list[warnings.WarningMessage]) -> None:
    for warning in caught:
        console.print(f"[yellow]warning:[/yellow] {warning.message}")


def register(app: typer.Typer) -> None:
    """Add `record` and `render` to the `merg` command."""
    app.command("record")(record)
    app.command("render")(render)
