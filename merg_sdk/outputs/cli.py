"""`merg relay livelink|vmc`: stream a watched session's face to Unreal or a VRM app.

A typer sub-app; `merg_sdk.cli` mounts it with `app.add_typer(relay_app, name="relay")`.
The relay watches the session on the server's observer stream, so it runs
beside whatever client owns the session and needs no plugin on either side.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from merg_sdk.outputs.relay import Sink

LIVELINK_PORT = 11111  # livelink.DEFAULT_PORT; the outputs load on use, not with `merg --help`
VMC_PORT = 39539  # vmc.DEFAULT_PORT
relay_app = typer.Typer(
    help="Stream a session's face to existing tools: Unreal Live Link Face or VMC (VRM apps).",
    no_args_is_help=True,
)
console = Console()

Server = Annotated[str, typer.Option(help="The MERG server's endpoint.")]
Session = Annotated[str, typer.Option("--session", help="Session id to watch (its `sid`).")]
Observer = Annotated[
    str | None,
    typer.Option(help="Observer endpoint; default: the one the server names in its welcome."),
]
Fps = Annotated[int, typer.Option(help="Packets per second sent, whatever the session's fps.")]
DelayMs = Annotated[
    float, typer.Option(help="Show each turn this much later (to match an audio player's lag).")
]
Idle = Annotated[
    bool, typer.Option(help="Keep sending the rest pose between turns (a live subject).")
]
Seconds = Annotated[
    float, typer.Option(help="Stop after this long; 0 runs until Ctrl-C or the session closes.")
]
LogLevel = Annotated[str, typer.Option(help="debug, info, warning or error.")]


@relay_app.command("livelink")
def relay_livelink(
    session: Session,
    server: Server = "tcp://127.0.0.1:5555",
    to: Annotated[
        str, typer.Option(help="Unreal's host:port (Live Link Face listens on 11111).")
    ] = f"127.0.0.1:{LIVELINK_PORT}",
    subject: Annotated[str, typer.Option(help="Live Link subject name shown in Unreal.")] = "MERG",
    device_id: Annotated[
        str | None, typer.Option(help="Device id in each packet (default: a new UUID).")
    ] = None,
    rotation_unit: Annotated[
        str, typer.Option(help="radian (Live Link Face app) or normalized (radians / pi).")
    ] = "radian",
    fps: Fps = 60,
    observer: Observer = None,
    delay_ms: DelayMs = 0.0,
    idle: Idle = True,
    seconds: Seconds = 0.0,
    log_level: LogLevel = "info",
) -> None:
    """Send Live Link Face UDP packets (Unreal's Apple ARKit Face Support, MetaHumans)."""
    from merg_sdk.outputs import livelink

    host, port = parse_address(to, LIVELINK_PORT)
    try:
        encoder = livelink.LiveLinkFaceEncoder(subject, device_id, rotation_unit)  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    sink = livelink.LiveLinkSink(host, port, encoder)
    what = f"Live Link Face subject {subject!r} to {host}:{port}"
    _run(sink, what, session, server, observer, fps, delay_ms, idle, seconds, log_level)


@relay_app.command("vmc")
def relay_vmc(
    session: Session,
    server: Server = "tcp://127.0.0.1:5555",
    to: Annotated[
        str, typer.Option(help="The VMC receiver's host:port (usually 39539).")
    ] = f"127.0.0.1:{VMC_PORT}",
    vrm: Annotated[str, typer.Option(help="Expression names: vrm0 (Joy, A...) or vrm1.")] = "vrm0",
    bones: Annotated[bool, typer.Option(help="Send Head, LeftEye and RightEye rotations.")] = True,
    status: Annotated[bool, typer.Option(help="Send /VMC/Ext/OK and /VMC/Ext/T.")] = True,
    fps: Fps = 60,
    observer: Observer = None,
    delay_ms: DelayMs = 0.0,
    idle: Idle = True,
    seconds: Seconds = 0.0,
    log_level: LogLevel = "info",
) -> None:
    """Send VMC protocol bundles (OSC over UDP) for VSeeFace, Warudo, EVMC4U..."""
    from merg_sdk.outputs import vmc

    host, port = parse_address(to, VMC_PORT)
    try:
        encoder = vmc.VmcEncoder(vrm, bones=bones, status=status)  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    sink = vmc.VmcSink(host, port, encoder)
    what = f"VMC ({vrm}) to {host}:{port}"
    _run(sink, what, session, server, observer, fps, delay_ms, idle, seconds, log_level)


def parse_address(value: str, default_port: int) -> tuple[str, int]:
    """`host:port`, `host`, `[v6]:port` -> (host, port)."""
    text = value.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, ""
    try:
        port = int(port_text) if port_text else default_port
    except ValueError:
        raise typer.BadParameter(f"not a host:port: {value!r}") from None
    if not host or not 0 < port < 65536:
        raise typer.BadParameter(f"not a host:port: {value!r}")
    return host, port


def _run(
    sink: Sink,
    what: str,
    session: str,
    server: str,
    observer: str | None,
    fps: int,
    delay_ms: float,
    idle: bool,
    seconds: float,
    log_level: str,
) -> None:
    from merg_sdk.outputs.relay import Relay
    from merg_sdk.outputs.source import ObserverSource, SourceError, observer_endpoint
    from merg_sdk.outputs.timeline import TurnTimeline

    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        endpoint = observer or observer_endpoint(server)
        relay = Relay(sink, fps, timeline=TurnTimeline(delay_s=delay_ms / 1000), idle=idle)
    except (SourceError, ValueError) as exc:
        sink.close()
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    source = ObserverSource(endpoint, session, relay.feed)
    timer = threading.Timer(seconds, source.stop) if seconds > 0 else None
    console.print(f"relaying session {session} from {endpoint}: {what} at {fps} fps")
    relay.start()
    if timer is not None:
        timer.start()
    reason = None
    try:
        reason = source.run()
    except KeyboardInterrupt:
        pass
    finally:
        if timer is not None:
            timer.cancel()
        source.stop()
        relay.stop()
    rate = relay.sent / relay.elapsed_s if relay.elapsed_s else 0.0
    console.print(
        f"sent {relay.sent} packets in {relay.elapsed_s:.1f} s ({rate:.1f}/s), "
        f"{source.received} messages watched, {relay.timeline.turns_dropped} turns interrupted"
        + (f"; session closed ({reason})" if reason else "")
    )
