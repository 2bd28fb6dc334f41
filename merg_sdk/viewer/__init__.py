"""A browser viewer for MERG sessions: `merg view` (see docs/integrations/viewer.md).

The bridge (`ViewerBridge`) serves a three.js page and forwards a session's messages
from the server's observer stream to it over a WebSocket; the page plays the audio
with Web Audio and drives the head's morph targets by the audio clock.
"""

from merg_sdk.viewer.bridge import ViewerBridge, ViewerConfig, ViewerError
from merg_sdk.viewer.runner import ViewerThread

__all__ = ["ViewerBridge", "ViewerConfig", "ViewerError", "ViewerThread"]
