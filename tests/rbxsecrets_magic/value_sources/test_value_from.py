"""A manifest secret's ``from``: one reference, or one per environment; never a value."""

from __future__ import annotations

import tomllib

import pytest

from rbxsecrets_magic.secrets_as_code.value_from import ValueFrom, parse_value_from
from rbxsecrets_magic.value_sources import parse_reference

ENVIRONMENTS = {"staging": 1, "production": 2}


def _from(toml: str) -> ValueFrom:
    return parse_value_from(tomllib.loads(toml)["from"], ENVIRONMENTS)


def test_one_reference_for_every_environment() -> None:
    found = _from('from = "sops:secrets.enc.env#STRIPE_KEY"')
    ref = parse_reference("sops:secrets.enc.env#STRIPE_KEY")
    assert found.for_environment("staging") == found.for_environment("production") == ref
    assert found.for_environment(None) == ref


def test_one_reference_per_environment_and_none_for_the_others() -> None:
    found = _from('from.production = "aws-sm:prod/stripe#key"')
    assert found.for_environment("production") == parse_reference("aws-sm:prod/stripe#key")
    assert found.for_environment("staging") is None
    assert found.for_environment(None) is None


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('from = "sk_live_51HqValuePastedHere"', "from: the text given is not a value reference"),
        ('from.production = "sk_live_51HqValuePastedHere"', "from.production: the text given"),
        ("from = 5", "from must be a value reference"),
        ("from = {}", "from is an empty table"),
        ('from.qa = "env:X"', "from: 'qa' is not an environment of the manifest"),
    ],
)
def test_what_is_no_reference_is_refused_without_being_repeated(toml: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        _from(toml)
    assert str(caught.value).startswith(message)
    assert "sk_live_51HqValuePastedHere" not in str(caught.value)
