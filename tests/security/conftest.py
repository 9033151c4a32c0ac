"""Fixtures for the security tests: the same real IPython shell as the magics' tests.

``shell``, ``cloud_shell`` and ``cloud`` (two universes for ``rbx-secrets``) come from
``tests/rbxsecrets_magic/conftest.py`` (history kept in
SQLite under ``tmp_path``, outputs too); see ``tests/rbxsecrets_magic/support.py``.
"""

from __future__ import annotations

from tests.rbxsecrets_magic.conftest import cloud, cloud_shell, shell

__all__ = ["cloud", "cloud_shell", "shell"]
