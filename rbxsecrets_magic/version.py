"""The package's version, for ``rbxsecrets_magic.__version__`` and the client's User-Agent."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.2.0.dev0"
