"""Words both front ends share for options they spell the same way (``--bleed-off``, ``--places``).

The operations layer refuses restart options with facts (:class:`RestartOptionError`); the
magics and ``rbx-secrets`` name these options identically, so the one line lives here once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..operations.rollout import RestartOptionError

__all__ = ["restart_option_problem"]

_PLACES_WORDS = {
    "places": "--places takes place ids (positive whole numbers, the place's ID in Creator Hub), "
    "separated by commas",
    "places_one_universe": "--places names places of one universe; give a single --universe "
    "with it",
}


def restart_option_problem(exc: RestartOptionError) -> str:
    """A restart option's refusal in the option names both front ends use."""
    if exc.problem == "bleed_off_zero":
        return (
            f"--bleed-off 0 is not a bleed-off: give 1 to {exc.maximum} minutes, or leave it "
            "out to shut servers down at once"
        )
    if exc.problem == "bleed_off":
        legacy = " with --legacy" if exc.legacy else ""
        return (
            f"--bleed-off takes whole minutes from 1 to {exc.maximum}, Roblox's limit{legacy} "
            "(leave it out to shut servers down at once)"
        )
    return _PLACES_WORDS[exc.problem]
