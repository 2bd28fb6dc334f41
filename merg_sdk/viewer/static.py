"""The viewer's HTTP side: the page, its ES modules from node_modules, the head, small JSON.

The page has no build step: `index.html` carries an importmap that points
`three` and `@msgpack/msgpack` at files under `/modules/`, which are read from
the `node_modules` folder that `npm ci` made next to the page. Nothing is fetched
from a CDN. Every path is resolved and checked to stay inside its folder, so a
request cannot read anything else on the machine.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from websockets.datastructures import Headers
from websockets.http11 import Response

WEB_DIR = Path(__file__).resolve().parent / "web"
"""The page's own files and package.json; `npm ci` puts node_modules here."""

#: The npm packages the page may load; anything else in node_modules is not served.
SERVED_PACKAGES = ("three", "@msgpack/msgpack")
PAGE_FILES = ("index.html", "viewer.js", "head.js", "player.js", "panel.js", "style.css")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".glb": "model/gltf-binary",
    ".gltf": "model/gltf+json",
    ".bin": "application/octet-stream",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ktx2": "image/ktx2",
}


class MissingModules(RuntimeError):
    """node_modules is absent: the page cannot load three.js."""


def modules_dir(web_dir: Path = WEB_DIR) -> Path:
    """node_modules beside the page, with an error that says how to make it."""
    folder = web_dir / "node_modules"
    missing = [name for name in SERVED_PACKAGES if not (folder / name / "package.json").is_file()]
    if missing:
        raise MissingModules(
            f"the viewer's JavaScript packages are not installed ({', '.join(missing)}): "
            f"run `npm ci --prefix {web_dir}`"
        )
    return folder


def inside(root: Path, relative: str) -> Path | None:
    """`root/relative` if it is a file inside `root` (no `..`, no symlink escape), else None."""
    if not relative or "\x00" in relative:
        return None
    base = root.resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base) or not path.is_file():
        return None
    return path


def file_response(path: Path) -> Response:
    body = path.read_bytes()
    content_type = CONTENT_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return _response(200, "OK", body, content_type)


def json_response(value: Any, status: int = 200) -> Response:
    body = json.dumps(value).encode()
    return _response(status, "OK" if status == 200 else "Error", body, "application/json")


def empty() -> Response:
    return Response(
        204, "No Content", Headers([("Content-Length", "0"), ("Connection", "close")]), b""
    )


def not_found(what: str) -> Response:
    return _response(404, "Not Found", f"not found: {what}\n".encode(), "text/plain")


def _response(status: int, reason: str, body: bytes, content_type: str) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            ("X-Content-Type-Options", "nosniff"),
            # one request per connection: the WebSocket server answers one HTTP request and
            # closes, so a browser must not keep the connection for the next one
            ("Connection", "close"),
        ]
    )
    return Response(status, reason, headers, body)
