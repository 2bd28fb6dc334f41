"""The MERG server: wires the stages and speaks protocol v1 on a ROUTER socket."""

from merg_sdk.server.app import MergServer
from merg_sdk.server.config import Limits, ServerConfig
from merg_sdk.server.runner import ServerThread

__all__ = ["Limits", "MergServer", "ServerConfig", "ServerThread"]
