"""The package's public surface and its import cost."""

from __future__ import annotations

import subprocess
import sys

import rbxsecrets_magic


def test_all_is_sorted_and_every_name_resolves() -> None:
    assert rbxsecrets_magic.__all__ == sorted(rbxsecrets_magic.__all__)
    for name in rbxsecrets_magic.__all__:
        assert getattr(rbxsecrets_magic, name) is not None


def test_unknown_attribute_is_an_attribute_error() -> None:
    try:
        rbxsecrets_magic.no_such_name  # noqa: B018
    except AttributeError as exc:
        assert "no_such_name" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_loading_the_extension_imports_no_http_or_crypto_library() -> None:
    # Run in a fresh interpreter: this test process has long since imported everything.
    code = (
        "import sys\n"
        "from IPython.testing.globalipapp import start_ipython\n"
        "ip = start_ipython()\n"
        "ip.run_line_magic('load_ext', 'rbxsecrets_magic')\n"
        "heavy = ('requests', 'nacl', 'urllib3', 'tqdm', 'dotenv')\n"
        "heavy = sorted(m for m in heavy if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip().splitlines()[-1:] in ([], [""]), result.stdout
