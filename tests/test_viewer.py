"""The browser viewer: a real server with its observer stream, the bridge, headless Chromium.

The page runs in Debian's Chromium, driven by playwright-core from node
(tests/viewer_driver.mjs). The page keeps counters in `window.mergViewer`; the tests
read them to see that the head loaded, that frames follow the audio clock, that audio
was scheduled, and that the bridge cleans up after a page that leaves. Skipped only
when Chromium, node or the viewer's npm packages are missing (run.sh installs them).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import struct
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from merg_sdk.data import blendshapes_file
from merg_sdk.server import MergServer, ServerConfig, ServerThread
from merg_sdk.server.config import EmpathyConfig
from merg_sdk.server.runner import free_port
from merg_sdk.viewer import ViewerConfig, ViewerError, ViewerThread
from merg_sdk.viewer.cli import serve_with_viewer
from merg_sdk.viewer.static import WEB_DIR
from tests.wire import RawPeer

REPO = Path(__file__).resolve().parent.parent
DRIVER = Path(__file__).resolve().parent / "viewer_driver.mjs"
DOCS_SCREENSHOT = REPO / "docs" / "images" / "viewer.png"
"""Rewritten only when MERG_UPDATE_SCREENSHOTS=1, so a test run leaves the tree clean."""
CHROMIUM = "/usr/bin/chromium"


def _missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return "Chromium is not installed (apt-get install chromium)"
    if shutil.which("node") is None:
        return "node is not installed"
    if not (WEB_DIR / "node_modules" / "playwright-core").is_dir():
        return f"the viewer's npm packages are not installed (npm ci --prefix {WEB_DIR})"
    return None


pytestmark = pytest.mark.skipif(_missing() is not None, reason=_missing() or "")


class Browser:
    """One headless Chromium for the module; each test opens its own pages."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            ["node", str(DRIVER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, op: str, **fields: Any) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError(f"the browser driver exited ({self.process.poll()})")
        answer = json.loads(line)
        if not answer["ok"]:
            logs = "\n".join(answer.get("logs", []))
            raise AssertionError(f"{op} failed: {answer['error']}\npage log:\n{logs}")
        return answer["value"]

    def wait(self, expr: str, timeout_s: float = 45.0) -> Any:
        return self.run("wait", expr=expr, timeout_s=timeout_s)

    def stats(self) -> dict[str, Any]:
        return self.run("eval", expr="window.mergViewer")

    def close(self) -> None:
        with_stdin = self.process.stdin
        if with_stdin is not None and self.process.poll() is None:
            with_stdin.write('{"op": "quit"}\n')
            with_stdin.flush()
        try:
            self.process.wait(15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    running = Browser()
    yield running
    running.close()


@pytest.fixture(scope="module")
def observed(tts) -> Iterator[ServerThread]:
    """A say-only server with the observer stream, for the tests that need no LLM."""
    config = ServerConfig(port=0, observer=True, empathy=EmpathyConfig(enabled=False))
    with ServerThread(config, tts=tts) as running:
        yield running


@pytest.fixture()
def empathetic(tts, mind) -> Iterator[ServerThread]:
    """A server with the observer stream and the empathy stage (user.text)."""
    with ServerThread(ServerConfig(port=0, observer=True), tts=tts, mind=mind) as running:
        yield running


def _viewer(server: ServerThread, **options: Any) -> ViewerThread:
    return ViewerThread(ViewerConfig(server=server.endpoint, port=0, **options))


def _open_session(peer: RawPeer, fps: int = 60) -> str:
    peer.send("hello", client={"name": "test", "version": "0", "engine": "pytest"})
    peer.recv_until("welcome")
    peer.send("session.open", rig="arkit52", fps=fps, sample_rate=22050)
    return peer.recv_until("session.opened")[-1]["sid"]


def test_page_plays_a_watched_session_on_the_audio_clock(observed, browser) -> None:
    with RawPeer(observed.endpoint) as peer, _viewer(observed) as viewer:
        sid = _open_session(peer)
        browser.run("open", url=f"{viewer.url}?sid={sid}")
        ready = browser.wait("window.mergViewer.opened && window.mergViewer")
        assert ready["headLoaded"] and ready["morphTargets"] == 52 and ready["missing"] == []
        assert ready["status"] == "watching"
        peer.send("say", sid=sid, text="Hello there, my friend. Watch my lips move as I speak.")
        sent = peer.recv_until("turn.end")
        browser.wait("mergViewer.framesApplied > 20 && mergViewer.jawOpenNow > 0.1")
        stats = browser.wait(
            "mergViewer.turnsEnded >= 1 && !mergViewer.playing && mergViewer", timeout_s=30
        )
        browser.run("close_page")
    faces = [m for m in sent if m["type"] == "face"]
    audio = [m for m in sent if m["type"] == "audio"]
    end = sent[-1]
    assert end["reason"] == "done"
    audio_s = end["stats"]["audio_s"]
    assert stats["framesReceived"] == sum(m["count"] for m in faces)
    assert stats["audioChunksScheduled"] == len(audio)
    assert stats["audioScheduledS"] == pytest.approx(audio_s, abs=1e-3)
    assert stats["lateChunks"] == 0
    # the audio clock picked every frame, and every frame it picked was there
    assert stats["framesApplied"] >= audio_s * 10  # headless Chromium draws 30-60 frames/s
    assert stats["maxFrameLag"] == 0 and stats["missingFrames"] == 0
    # the frame applied is the one whose time covers the audio clock: within 1/fps (16.7 ms)
    assert stats["maxSyncErrMs"] <= 1000 / 60 + 0.5
    assert stats["jawOpenMax"] > 0.3
    assert stats["captions"] == [m["text"] for m in sent if m["type"] == "reply"]
    print(
        f"\nviewer sync: frame vs audio clock max {stats['maxSyncErrMs']:.1f} ms; on screen "
        f"p95 {stats['shownErrP95Ms']:.1f} ms, max {stats['maxShownErrMs']:.1f} ms; display "
        f"frame {stats['displayFrameMs']:.1f} ms (max {stats['maxDisplayFrameMs']:.1f}); "
        f"{stats['framesApplied']} frames applied for {audio_s:.2f} s; clock {stats['clock']}, "
        f"output latency {stats['outputLatencyMs']:.0f} ms"
    )


def test_typing_to_its_own_session_shows_the_user_and_the_chain(
    empathetic, browser, tmp_path
) -> None:
    """`/?own=1`: the bridge opens the session, the page types `user.text` to it, and the
    panel shows the user's affect, the chain of empathy and the avatar's words."""
    update = os.environ.get("MERG_UPDATE_SCREENSHOTS") == "1"
    screenshot = DOCS_SCREENSHOT if update else tmp_path / "viewer.png"
    with _viewer(empathetic) as viewer:
        browser.run("open", url=f"{viewer.url}?own=1")
        browser.wait("mergViewer.opened && mergViewer.own")
        assert viewer.bridge.text_kind == "user.text"
        browser.run("type", text="My dog died yesterday and I miss him so much.")
        browser.wait("mergViewer.affect && mergViewer.strategy", timeout_s=30)
        browser.wait("mergViewer.captions.length >= 1 && mergViewer.jawOpenNow > 0.25", 30)
        browser.run("screenshot", path=str(screenshot))
        stats = browser.wait("mergViewer.turnsEnded >= 1 && !mergViewer.playing && mergViewer", 60)
        sessions_before = empathetic.call(lambda: len(list(empathetic.server.sessions)))
        browser.run("close_page")
        _until(lambda: viewer.call(lambda: len(viewer.bridge.watches)) == 0)
        _until(
            lambda: empathetic.call(lambda: len(list(empathetic.server.sessions))) < sessions_before
        )
    assert stats["affect"] == "sad"
    assert stats["lastTurnEnd"]["reason"] in ("done", "error")  # error: the LLM's fallback
    assert stats["framesApplied"] > 0 and stats["maxFrameLag"] == 0
    assert screenshot.stat().st_size > 10_000


def test_a_page_that_leaves_mid_turn_costs_the_server_nothing(observed, browser) -> None:
    with RawPeer(observed.endpoint) as peer, _viewer(observed) as viewer:
        sid = _open_session(peer)
        browser.run("open", url=f"{viewer.url}?sid={sid}")
        browser.wait("mergViewer.opened")
        assert _command(viewer, sid, {"type": "text", "text": "let me in"}) == "read_only"
        peer.send("say", sid=sid, text="One, two, three, four. Five, six, seven, eight. Nine, ten.")
        browser.wait("mergViewer.framesApplied > 10")
        browser.run("close_page")  # mid-turn
        _until(lambda: viewer.call(lambda: len(viewer.bridge.watches)) == 0)
        end = peer.recv_until("turn.end")[-1]
        # the bridge is still good for the next page
        browser.run("open", url=f"{viewer.url}?sid={sid}")
        assert browser.wait("mergViewer.opened")
        browser.run("close_page")
    assert end["reason"] == "done"


def test_an_unknown_session_is_reported_and_live_ones_are_listed(observed, browser) -> None:
    with RawPeer(observed.endpoint) as peer, _viewer(observed, unknown_after_s=0.5) as viewer:
        sid = _open_session(peer)
        browser.run("open", url=f"{viewer.url}?sid=no-such-session")
        message = browser.wait(
            "mergViewer.status === 'unknown_session' && mergViewer.statusMessage"
        )
        assert "no such session" in message
        browser.run("close_page")
        browser.run("open", url=viewer.url)
        browser.wait("mergViewer.status === 'picker' && mergViewer.sessions >= 1")
        listed = browser.run(
            "eval", expr="[...document.querySelectorAll('#sessions a')].map(a => a.textContent)"
        )
        browser.run("close_page")
    assert sid in listed


def test_a_head_without_some_targets_lists_them_and_drives_the_rest(
    observed, browser, tmp_path
) -> None:
    """A user's head lacking `jawOpen` and `eyeBlinkLeft`; a say-only server, so typing in
    the viewer's own session sends `say`."""
    head = tmp_path / "partial_head.glb"
    _rename_targets(blendshapes_file("head/reference_head.glb"), head, {"jawOpen", "eyeBlinkLeft"})
    with _viewer(observed, own=True, head=head) as viewer:
        browser.run("open", url=viewer.url)
        ready = browser.wait("mergViewer.opened && mergViewer")
        assert ready["missing"] == ["eyeBlinkLeft", "jawOpen"]
        assert ready["morphTargets"] == 50
        shown = browser.run("eval", expr="document.getElementById('missing').textContent")
        assert "jawOpen" in shown and "eyeBlinkLeft" in shown
        assert viewer.bridge.text_kind == "say"
        browser.run("type", text="Nothing is missing from my voice.")
        stats = browser.wait("mergViewer.turnsEnded >= 1 && !mergViewer.playing && mergViewer")
        # Stop mid-turn: the page drops the turn's audio that is still scheduled
        browser.run("type", text="One, two, three, four. Five, six, seven, eight. Nine, ten.")
        applied = stats["framesApplied"]
        browser.wait(f"mergViewer.playing && mergViewer.framesApplied > {applied + 5}")
        browser.run("click", selector="#stop")
        stopped = browser.wait("mergViewer.turnsDropped >= 1 && !mergViewer.playing && mergViewer")
        browser.run("close_page")
    assert stats["captions"] == ["Nothing is missing from my voice."]
    assert stats["framesApplied"] > 0 and stats["maxInfluence"] > 0.2
    assert stats["jawOpenMax"] == 0  # not on this head
    assert stopped["turnsDropped"] == 1 and stopped["sourcesStopped"] > 0


def test_a_server_without_the_observer_stream_is_refused(tts) -> None:
    config = ServerConfig(port=0, empathy=EmpathyConfig(enabled=False))
    with ServerThread(config, tts=tts) as server, pytest.raises(ViewerError, match="--observer"):
        _viewer(server).start()


def test_serve_with_viewer_runs_the_server_and_the_page_together(tts) -> None:
    """The `merg serve --viewer` hook: one loop, the page up once the server has bound."""
    config = ServerConfig(port=0, observer=True, empathy=EmpathyConfig(enabled=False))
    server = MergServer(config, tts=tts)
    port = free_port()
    loop = asyncio.new_event_loop()
    task = loop.create_task(serve_with_viewer(server, port=port))

    def run() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            loop.run_until_complete(task)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        _until(lambda: _get(f"http://127.0.0.1:{port}/api/config") is not None, timeout_s=20)
        page = _get(f"http://127.0.0.1:{port}/api/config")
        head = _get(f"http://127.0.0.1:{port}/head/reference_head.glb", raw=True)
        outside = _get(f"http://127.0.0.1:{port}/modules/three/../../package.json", raw=True)
    finally:
        loop.call_soon_threadsafe(task.cancel)
        thread.join(15)
    assert page["observer"].startswith("tcp://127.0.0.1:")
    assert page["text_kind"] == "say" and len(page["expected"]) == 52
    assert head[:4] == b"glTF"
    assert outside is None  # nothing outside the served packages
    assert not thread.is_alive()


def _get(url: str, raw: bool = False) -> Any:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            body = response.read()
    except OSError:
        return None
    return body if raw else json.loads(body)


def _command(viewer: ViewerThread, sid: str, command: dict[str, Any]) -> str:
    """Send the bridge a command as a page would (whatever the page's text box allows) and
    return the status it answers with."""
    url = viewer.url.replace("http://", "ws://") + f"ws?sid={sid}"
    with connect(url) as ws:
        ws.send(json.dumps(command))
        while True:
            reply = ws.recv(timeout=10)
            if isinstance(reply, str) and json.loads(reply)["status"] not in (
                "waiting",
                "watching",
            ):
                return json.loads(reply)["status"]


def _until(condition, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def _rename_targets(source: Path, target: Path, names: set[str]) -> None:
    """Copy a GLB with some morph targets renamed out of the ARKit set."""
    data = source.read_bytes()
    json_length = struct.unpack_from("<I", data, 12)[0]
    document = json.loads(data[20 : 20 + json_length])
    rest = data[20 + json_length :]
    for mesh in document["meshes"]:
        extras = mesh.get("extras", {})
        extras["targetNames"] = [
            f"custom_{n.lower()}" if n in names else n for n in extras.get("targetNames", [])
        ]
    chunk = json.dumps(document).encode()
    chunk += b" " * (-len(chunk) % 4)
    body = struct.pack("<I4s", len(chunk), b"JSON") + chunk + rest
    target.write_bytes(struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)
