"""`merg view` and the `merg serve --viewer` hook.

`view` is a plain function with typer annotations, so `merg_sdk.cli` mounts it with
`app.command("view")(view)` and nothing here imports the main CLI (no cycle).
`serve_with_viewer` runs a `MergServer` and the bridge on one event loop, for
`merg serve --viewer`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import webbrowser
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from merg_sdk.netaddr import is_loopback
from merg_sdk.protocol.constants import DEFAULT_HOST, DEFAULT_PORT
from merg_sdk.viewer.bridge import ViewerBridge, ViewerConfig, ViewerError
from merg_sdk.viewer.static import MissingModules

if TYPE_CHECKING:
    from merg_sdk.server import MergServer

DEFAULT_VIEWER_PORT = 8765
console = Console()


def view(
    server: Annotated[
        str, typer.Option(help="The MERG server's endpoint.")
    ] = f"tcp://{DEFAULT_HOST}:{DEFAULT_PORT}",
    sid: Annotated[str | None, typer.Option(help="Watch this session (read-only).")] = None,
    own: Annotated[
        bool, typer.Option("--own", help="Open a session of the viewer's own, to type to.")
    ] = False,
    observer: Annotated[
        str | None, typer.Option(help="Observer endpoint (default: the one the server names).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address of the page.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="HTTP + WebSocket port of the page.")] = (
        DEFAULT_VIEWER_PORT
    ),
    head: Annotated[
        Path | None, typer.Option(help="A glTF/GLB head with ARKit morph targets.")
    ] = None,
    avatar: Annotated[
        str | None, typer.Option(help="Persona id for the viewer's own sessions.")
    ] = None,
    voice: Annotated[str | None, typer.Option(help="Voice for the viewer's own sessions.")] = None,
    fps: Annotated[int, typer.Option(help="Face frames per second of own sessions.")] = 60,
    sample_rate: Annotated[int, typer.Option(help="Audio rate of own sessions, Hz.")] = 22050,
    open_browser: Annotated[
        bool, typer.Option("--open", help="Open the page in the default browser.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "warning",
) -> None:
    """Watch a session in the browser: a 3D head, its voice, and the chain of empathy.

    Needs a server started with `merg serve --observer`. Without --sid or --own the
    page lists the live sessions and offers a conversation of its own.
    """
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not is_loopback(host):
        console.print(
            f"[yellow]warning:[/yellow] the page on {host} has no login: anyone who reaches "
            "it can watch sessions and talk to the avatar"
        )
    config = ViewerConfig(
        server=server,
        observer=observer,
        host=host,
        port=port,
        sid=sid,
        own=own,
        head=head,
        avatar=avatar,
        voice=voice,
        fps=fps,
        sample_rate=sample_rate,
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_view(config, open_browser))


async def _view(config: ViewerConfig, open_browser: bool) -> None:
    bridge = ViewerBridge(config)
    try:
        url = await bridge.start()
    except (ViewerError, MissingModules, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    try:
        _announce(url, open_browser)
        await asyncio.Event().wait()  # until Ctrl-C
    finally:
        await bridge.close()


async def serve_with_viewer(
    server: MergServer,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_VIEWER_PORT,
    head: Path | None = None,
    open_browser: bool = False,
) -> None:
    """`merg serve --viewer`: the server and the page's bridge on one loop until cancelled.

    The server's config must have `observer=True`; the bridge starts once the server
    has bound, and a bridge that cannot start stops the server with a clear error.
    """
    if not server.config.observer:
        raise ViewerError("the viewer needs the observer stream: ServerConfig(observer=True)")
    serving = asyncio.create_task(server.serve_forever(), name="merg-serve")
    while server.endpoint is None or server.observer is None:
        if serving.done():
            await serving  # the server failed to start: its error, not ours
            return
        await asyncio.sleep(0.05)
    bridge = ViewerBridge(
        ViewerConfig(
            server=server.endpoint,
            observer=server.observer.endpoint,
            host=host,
            port=port,
            head=head,
        )
    )
    try:
        url = await bridge.start()
        _announce(url, open_browser)
        await serving
    finally:
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
        await bridge.close()


def _announce(url: str, open_browser: bool) -> None:
    console.print(f"viewer on [bold]{url}[/bold]  (Ctrl-C to stop)")
    if open_browser:
        webbrowser.open(url)


def register(app: typer.Typer) -> None:
    """Mount `merg view` on the main CLI."""
    app.command("view")(view)
