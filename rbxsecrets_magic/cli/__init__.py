"""``rbx-secrets``: secrets as code and one-off writes, for a terminal and CI."""

from __future__ import annotations

from .app import main

__all__ = ["main"]
