"""CurveZMQ: only clients that know the server key (and are allowed) get anything."""

from __future__ import annotations

from pathlib import Path

import pytest
import zmq
from pydantic import ValidationError

from merg_sdk.client import MergClient
from merg_sdk.server import ServerConfig
from merg_sdk.server.security import load_keys, make_key_pair
from tests.wire import RawPeer


@pytest.fixture()
def keys(tmp_path: Path) -> dict[str, Path]:
    server_public, server_secret = make_key_pair(tmp_path / "server", "server")
    allowed = tmp_path / "allowed"
    client_public, client_secret = make_key_pair(tmp_path / "client", "client")
    allowed.mkdir()
    (allowed / "client.key").write_bytes(client_public.read_bytes())
    _, stranger_secret = make_key_pair(tmp_path / "stranger", "stranger")
    return {
        "server_public": server_public,
        "server_secret": server_secret,
        "allowed": allowed,
        "client_secret": client_secret,
        "stranger_secret": stranger_secret,
    }


def test_a_client_with_the_server_key_is_served(make_server, keys) -> None:
    running = make_server(server_secret_key=keys["server_secret"])
    with MergClient(running.endpoint, server_public_key=keys["server_public"]) as client:
        assert "curve" in client.welcome.capabilities["features"]
        assert client.open_session().say("Secure hello.").collect().reason == "done"


def test_a_client_without_the_right_key_gets_nothing(make_server, keys) -> None:
    running = make_server(server_secret_key=keys["server_secret"])
    with RawPeer(running.endpoint) as plain:
        plain.send("hello", client={"name": "plain"})
        assert plain.recv(1.5) is None
    wrong_public, _ = zmq.curve_keypair()
    public, secret = zmq.curve_keypair()
    with RawPeer(
        running.endpoint,
        curve_serverkey=wrong_public,
        curve_publickey=public,
        curve_secretkey=secret,
    ) as wrong:
        wrong.send("hello", client={"name": "wrong"})
        assert wrong.recv(1.5) is None


def test_the_allow_list_admits_only_listed_clients(make_server, keys) -> None:
    running = make_server(server_secret_key=keys["server_secret"], allowed_clients=keys["allowed"])
    with MergClient(
        running.endpoint,
        server_public_key=keys["server_public"],
        client_secret_key=keys["client_secret"],
    ) as client:
        assert client.ping().server_t > 0
    server_public, _ = load_keys(keys["server_secret"])
    stranger_public, stranger_secret = load_keys(keys["stranger_secret"])
    with RawPeer(
        running.endpoint,
        curve_serverkey=server_public,
        curve_publickey=stranger_public,
        curve_secretkey=stranger_secret,
    ) as stranger:
        stranger.send("hello", client={"name": "stranger"})
        assert stranger.recv(1.5) is None


def test_non_loopback_bind_needs_keys_or_insecure(keys) -> None:
    with pytest.raises(ValidationError, match="refusing to bind"):
        ServerConfig(host="0.0.0.0")
    assert ServerConfig(host="0.0.0.0", insecure=True).host == "0.0.0.0"
    assert ServerConfig(host="0.0.0.0", server_secret_key=keys["server_secret"]).host
    assert ServerConfig(host="::1").endpoint == "tcp://[::1]:5555"
    with pytest.raises(ValidationError, match="needs server_secret_key"):
        ServerConfig(allowed_clients=keys["allowed"])
