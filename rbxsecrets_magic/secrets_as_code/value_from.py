"""A manifest secret's ``from``: where its value is kept, per environment; never a value.

::

    [secrets.STRIPE_KEY]
    from = "sops:secrets.enc.env#STRIPE_KEY"        # every environment

    [secrets.WEBHOOK_KEY]
    from.production = "aws-sm:prod/stripe#webhook"  # production only; the others read
    from.staging = "sops:staging.enc.env#WEBHOOK"   # WEBHOOK_KEY as before (.env, environment)

Each reference is checked when the manifest is read: text that is no reference (a value
pasted by mistake) is refused without being repeated, and a table may name only the
manifest's environments. Whether a reference resolves is found out when it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..errors import NotAReferenceError
from ..value_sources.reference import Reference, parse_reference

__all__ = ["ValueFrom", "parse_value_from"]


@dataclass(frozen=True, slots=True)
class ValueFrom:
    """Where a secret's value comes from: one reference for all, or one per environment.

    Attributes
    ----------
    everywhere:
        The reference for every environment (``from = "..."``), or None.
    by_environment:
        Environment names mapped to their reference (``from.production = "..."``).
    """

    everywhere: Reference | None = None
    by_environment: Mapping[str, Reference] = field(default_factory=dict)

    def for_environment(self, environment: str | None) -> Reference | None:
        """The reference for a target in ``environment`` (None: the value comes as before)."""
        if self.everywhere is not None:
            return self.everywhere
        return self.by_environment.get(environment) if environment is not None else None


def parse_value_from(value: object, environments: Mapping[str, int]) -> ValueFrom:
    """Read a secret's ``from``: a reference, or a table of environment names to references.

    Raises
    ------
    ValueError
        One line saying what is wrong (the caller adds the file and table); never quoting
        text that is no reference.
    """
    if isinstance(value, str):
        return ValueFrom(everywhere=_reference(value, "from"))
    if not isinstance(value, Mapping):
        raise ValueError(
            'from must be a value reference (from = "sops:secrets.enc.env#KEY") or a table '
            'of environments (from.production = "aws-sm:prod/stripe#key")'
        )
    if not value:
        raise ValueError('from is an empty table; name an environment: from.production = "..."')
    by_environment: dict[str, Reference] = {}
    for name, text in value.items():
        if name not in environments:
            known = ", ".join(environments) or "none"
            shown = repr(name if len(name) <= 64 else name[:61] + "...")
            raise ValueError(
                f"from: {shown} is not an environment of the manifest (the [environments] "
                f"table has: {known})"
            )
        by_environment[name] = _reference(text, f"from.{name}")
    return ValueFrom(by_environment=by_environment)


def _reference(text: object, key: str) -> Reference:
    problem = None
    try:
        return parse_reference(text)
    except NotAReferenceError as exc:
        problem = exc.reason
    raise ValueError(f"{key}: {problem}; a manifest names where a value is, never the value")
