"""Settings shared by the whole suite."""

from __future__ import annotations

import os

from hypothesis import settings

# CI must give the same verdict on every run: derandomized examples, no example database
# carried between runs. Locally, Hypothesis explores new examples each time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
