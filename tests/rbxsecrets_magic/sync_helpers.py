"""Shared by the secrets-as-code tests: two universes on the fake, and rbx-secrets in-process.

The ``cloud`` fixture lives in ``tests/conftest.py``.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from rbxsecrets_magic.cli.app import Console, main

STAGING, PRODUCTION = 4_100_000_001, 4_100_000_002
MANIFEST = f"""
[environments]
staging = {STAGING}
production = {PRODUCTION}

[secrets.DISCORD_WEBHOOK]
domain = "discord.com"

[secrets.STRIPE_KEY]
domain = "*.stripe.com"
environments = ["production"]

[secrets.ANALYTICS_KEY]

[prune]
protect = ["LEGACY_*"]
"""
VALUES = {
    "DISCORD_WEBHOOK": "https://discord.com/api/webhooks/1/abc",
    "STRIPE_KEY": "sk_test_51HxYz",
    "ANALYTICS_KEY": "an4lyt1cs-k3y",
}


class Run:
    """The outcome of one ``rbx-secrets`` invocation."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def json(self) -> Any:
        return json.loads(self.out)

    def rows(self) -> dict[tuple[int, str], dict[str, Any]]:
        return {(r["universe"], r["id"]): r for r in self.json["changes"]}


class Terminal(io.StringIO):
    """stdin that claims to be a terminal."""

    def isatty(self) -> bool:
        return True


def write_env(where: Path, values: dict[str, str]) -> None:
    text = "".join(f"{k}='{v}'\n" for k, v in values.items())
    (where / ".env").write_text(text, encoding="utf-8")


def rbx(*argv: str, stdin: io.StringIO | None = None) -> Run:
    out, err = io.StringIO(), io.StringIO()
    console = Console(stdout=out, stderr=err, stdin=stdin or io.StringIO())
    code = main(list(argv), console)
    return Run(code, out.getvalue(), err.getvalue())
