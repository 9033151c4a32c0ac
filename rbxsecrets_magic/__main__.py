"""``python -m rbxsecrets_magic``: the ``rbx-secrets`` command line."""

from __future__ import annotations

import sys

from .cli.app import main

sys.exit(main())
