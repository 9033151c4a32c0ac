"""Value references: where a secret's value is kept, resolved at the moment of use.

Instead of a value, a manifest's ``from`` or a ``--from`` option names where the value is::

    env:STRIPE_KEY                   an environment variable of this process
    file:~/.secrets/stripe           a file, without its final newline
    sops:secrets.enc.env#STRIPE_KEY  a key of a sops-encrypted dotenv, YAML or JSON file
    aws-sm:prod/stripe               the secret string of an AWS Secrets Manager secret
    aws-sm:prod/stripe#key           one key of that secret's JSON
    keyring:SERVICE/USERNAME         an entry of the system keyring

A value is resolved when it is needed and never written anywhere: not to a state file, a log, a
message or a traceback. One :class:`ResolutionContext` serves one run, and fetches what each
resolver needs once in it: one ``sops`` call per file, one AWS call per secret id.

Adding a scheme (a plugin)
--------------------------
A package adds a scheme without any change here, through the entry-point group
``rbxsecrets_magic.value_sources``: the entry point's name is the scheme, its object a
resolver, a callable that gets the parsed :class:`Reference` and the run's
:class:`ResolutionContext` and returns the value as a string. It raises
:class:`~rbxsecrets_magic.errors.ValueReferenceError` saying why a reference does not resolve
(never quoting a value); any other exception is reported by its type alone. Work worth doing
once per run goes through :meth:`ResolutionContext.once`. For ``op://vault/item/field``::

    # pyproject.toml of the package rbx-op
    [project.entry-points."rbxsecrets_magic.value_sources"]
    op = "rbx_op:resolve"

    # rbx_op.py
    import subprocess
    from rbxsecrets_magic.errors import ValueReferenceError

    def resolve(reference, context):
        # reference.text == "op://vault/item/field", reference.body == "//vault/item/field"
        done = subprocess.run(["op", "read", reference.text], capture_output=True, text=True)
        if done.returncode != 0:
            raise ValueReferenceError(reference.text, "op could not read it", scheme="op")
        return done.stdout.removesuffix("\\n")

The built-in schemes (``env``, ``file``, ``sops``, ``aws-sm``, ``keyring``) cannot be replaced by
a package. Whatever a resolver returns is checked like any value (1 to 1,024 characters).
"""

from __future__ import annotations

from .context import BUILTIN_SCHEMES, ENTRY_POINT_GROUP, ResolutionContext, ValueResolver
from .reference import MAX_REFERENCE_CHARS, Reference, parse_reference

__all__ = [
    "BUILTIN_SCHEMES",
    "ENTRY_POINT_GROUP",
    "MAX_REFERENCE_CHARS",
    "Reference",
    "ResolutionContext",
    "ValueResolver",
    "parse_reference",
]
