"""Sessions CI runs: the linters once, and the test suite on every supported Python.

``nox -s lint`` runs ruff and mypy with the configuration in ``pyproject.toml``;
``nox -s tests-3.12`` runs the whole suite on Python 3.12 in a fresh virtual environment.
``.ci/run`` finds the interpreters (they need not be on ``PATH``) and says which are missing.
"""

from __future__ import annotations

import nox

# Every Python that pyproject's requires-python admits and that we promise to test on.
PYTHONS = ["3.11", "3.12", "3.13"]

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff and mypy exactly as configured in pyproject.toml."""
    session.install("-e", ".[lint]")
    session.run("ruff", "format", "--check", ".")
    session.run("ruff", "check", ".")
    session.run("mypy")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run the test suite (arguments after ``--`` go to pytest)."""
    session.install("-e", ".[test]")
    session.run("python", "-m", "pytest", *session.posargs)
