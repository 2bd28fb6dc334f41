"""MERG SDK: an avatar engine that listens, cares, speaks and moves a face.

The server streams speech audio and per-frame facial controller values over
ZeroMQ + MessagePack; `merg_sdk.client` is the Python SDK for it.
"""

__version__ = "0.1.0"
