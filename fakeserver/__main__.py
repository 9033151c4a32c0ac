"""``python -m fakeserver``: the same command line as ``rbx-fakeserver``."""

from __future__ import annotations

import sys

from fakeserver.server import main

if __name__ == "__main__":
    sys.exit(main())
