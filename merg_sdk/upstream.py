"""The failure of a service a stage relies on (an LLM, a Riva server, a recogniser).

Every stage raises its own error type with its own stable codes; they share this base
so the server treats them alike: the turn ends with `upstream_failed`, the session
lives on, and nothing is logged as a bug in our code.
"""

from __future__ import annotations


class UpstreamError(RuntimeError):
    """A backend failed, timed out or refused; `str()` says which and why."""
