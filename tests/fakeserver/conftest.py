"""Fixtures for the fake's tests; the plain helpers they use are in ``support.py``."""

from __future__ import annotations

import pytest

from tests.fakeserver.support import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()
