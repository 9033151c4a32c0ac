"""``python -m fakeserver``: the same command line as ``rbx-fakeserver``."""

from __future__ import annotations

import sys

from fakeserver.cli import main

if __name__ == "__main__":
    sys.exit(main())
