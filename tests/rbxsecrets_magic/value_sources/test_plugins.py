"""Third-party schemes through the entry-point group, from a tiny installed test package."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rbxsecrets_magic.errors import UnknownSchemeError, ValueReferenceError
from rbxsecrets_magic.value_sources import ResolutionContext
from tests.rbxsecrets_magic.value_sources.plugin_package import install


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test package installed on sys.path, and its vault file."""
    monkeypatch.syspath_prepend(str(install(tmp_path / "site")))
    path = tmp_path / "vault.json"
    path.write_text(json.dumps({"stripe": "sk_from_the_plugin_0123", "hook": "whsec_42"}))
    monkeypatch.setenv("TESTVAULT_FILE", str(path))
    return path


def test_a_plugin_scheme_resolves_once_per_run(vault: Path) -> None:
    context = ResolutionContext()
    assert "testvault" in context.known_schemes()
    assert context.resolve("testvault:stripe").reveal() == "sk_from_the_plugin_0123"
    assert context.resolve("TESTVAULT:hook").reveal() == "whsec_42"
    with pytest.raises(ValueReferenceError, match="^testvault:nope: the test vault has no such"):
        context.resolve("testvault:nope")
    assert Path(f"{vault}.reads").read_text().splitlines() == ["read"]


def test_a_plugin_cannot_replace_a_built_in_scheme(
    vault: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PLAIN", "from-the-environment")
    assert ResolutionContext().resolve("env:PLAIN").reveal() == "from-the-environment"


def test_a_plugin_that_fails_to_load_is_named_with_its_reference(vault: Path) -> None:
    with pytest.raises(ValueReferenceError) as caught:
        ResolutionContext().resolve("broken:thing")
    assert str(caught.value) == (
        "broken:thing: the resolver for broken: could not be loaded "
        "(ModuleNotFoundError importing rbx_testvault_missing:resolve)"
    )


def test_without_the_package_the_scheme_is_unknown() -> None:
    with pytest.raises(UnknownSchemeError) as caught:
        ResolutionContext().resolve("testvault:stripe")
    assert "testvault" not in caught.value.known
