"""CurveZMQ for the server socket, through pyzmq's own authenticator and key files."""

from __future__ import annotations

from pathlib import Path

import zmq
import zmq.asyncio
import zmq.auth
from zmq.auth.asyncio import AsyncioAuthenticator


def make_key_pair(directory: Path, name: str) -> tuple[Path, Path]:
    """Write `<name>.key` (public, share it) and `<name>.key_secret` (keep it)."""
    directory.mkdir(parents=True, exist_ok=True)
    public, secret = zmq.auth.create_certificates(str(directory), name)
    return Path(public), Path(secret)


def load_keys(secret_file: Path) -> tuple[bytes, bytes]:
    """(public, secret) from a `.key_secret` file written by `merg keys`."""
    public, secret = zmq.auth.load_certificate(str(secret_file))
    if secret is None:
        raise ValueError(f"{secret_file} holds no secret key (is it the public .key file?)")
    return public, secret


def load_public_key(public_file: Path) -> bytes:
    public, _ = zmq.auth.load_certificate(str(public_file))
    return public


def secure_server_socket(
    context: zmq.asyncio.Context,
    socket: zmq.asyncio.Socket,
    secret_file: Path,
    allowed_clients: Path | None,
) -> AsyncioAuthenticator:
    """Make `socket` a Curve server; only allow-listed clients when a folder is given.

    The authenticator is ZAP running in this process: a client whose key is not
    allowed never completes the handshake, so it can send nothing and receives nothing.
    """
    authenticator = AsyncioAuthenticator(context)
    authenticator.start()
    location = str(allowed_clients) if allowed_clients else zmq.auth.CURVE_ALLOW_ANY
    authenticator.configure_curve(domain="*", location=location)
    make_curve_server(socket, secret_file)
    return authenticator


def make_curve_server(socket: zmq.asyncio.Socket, secret_file: Path) -> None:
    """Give a socket the server's key pair (the context's authenticator checks its peers)."""
    public, secret = load_keys(secret_file)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_server = True
