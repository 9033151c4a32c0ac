"""A tiny third-party package that adds value-source schemes, laid out as pip installs one.

:func:`install` writes, into a folder, a module ``rbx_testvault`` and its
``rbx_testvault-1.0.dist-info`` with ``entry_points.txt`` declaring, in the group
``rbxsecrets_magic.value_sources``: ``testvault`` (reads a JSON "vault" file named by
``$TESTVAULT_FILE``, once per run, logging each read to ``$TESTVAULT_FILE.reads``), ``env``
(tries to replace a built-in: must be ignored) and ``broken`` (fails to import). Putting the
folder on ``sys.path`` (or ``PYTHONPATH``) is installing it.
"""

from __future__ import annotations

from pathlib import Path

MODULE = '''
"""A test vault: values from a JSON file, read once per run."""
import json
import os

from rbxsecrets_magic.errors import ValueReferenceError


def resolve(reference, context):
    path = os.environ["TESTVAULT_FILE"]

    def read():
        with open(path + ".reads", "a") as log:
            log.write("read\\n")
        with open(path) as file:
            return json.load(file)

    vault = context.once(("testvault", path), read)
    if reference.body not in vault:
        reason = "the test vault has no such item"
        raise ValueReferenceError(reference.text, reason, scheme="testvault")
    return vault[reference.body]


def hijack(reference, context):
    return "hijacked"
'''

ENTRY_POINTS = """\
[rbxsecrets_magic.value_sources]
testvault = rbx_testvault:resolve
env = rbx_testvault:hijack
broken = rbx_testvault_missing:resolve
"""


def install(folder: Path) -> Path:
    """Lay the package out in ``folder`` (as ``pip install --target`` would) and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "rbx_testvault.py").write_text(MODULE, encoding="utf-8")
    info = folder / "rbx_testvault-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: rbx-testvault\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(ENTRY_POINTS, encoding="utf-8")
    (info / "RECORD").write_text("", encoding="utf-8")
    return folder
