"""``sops:PATH#KEY`` with the real sops program and an age key made by the test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rbxsecrets_magic.errors import SopsError
from rbxsecrets_magic.value_sources import ResolutionContext
from tests.rbxsecrets_magic.value_sources.real_parts import Sops

STRIPE = "sk_live_51Hq8JxStripeValue0123456789"
WEBHOOK = "whsec_Webhook-Value with spaces & = signs"


def test_values_of_a_dotenv_yaml_and_json_file_decrypt_in_memory(sops: Sops) -> None:
    sops.encrypt("secrets.enc.env", f"STRIPE_KEY={STRIPE}\nWEBHOOK={WEBHOOK}\n")
    sops.encrypt("prod.yaml", f"stripe:\n  live_key: {STRIPE}\nport: 8443\n")
    sops.encrypt("prod.json", f'{{"webhook": "{WEBHOOK}", "flag": true}}')
    encrypted = (sops.folder / "secrets.enc.env").read_text()
    assert STRIPE not in encrypted and "ENC[AES256_GCM" in encrypted
    before = set(os.listdir(sops.folder))

    context = ResolutionContext(base_dir=sops.folder)
    assert context.resolve("sops:secrets.enc.env#STRIPE_KEY").reveal() == STRIPE
    assert context.resolve("sops:secrets.enc.env#WEBHOOK").reveal() == WEBHOOK
    assert context.resolve("sops:prod.yaml#stripe.live_key").reveal() == STRIPE
    assert context.resolve("sops:prod.yaml#port").reveal() == "8443"
    assert context.resolve(f"sops:{sops.folder}/prod.json#webhook").reveal() == WEBHOOK
    # Nothing was written beside the files: sops decrypted to a pipe.
    assert set(os.listdir(sops.folder)) - before == {"sops-calls.log"}


def test_one_sops_call_per_file_per_run_however_many_keys(sops: Sops) -> None:
    sops.encrypt("a.enc.env", "ONE=first-value\nTWO=second-value\nTHREE=third-value\n")
    sops.encrypt("b.enc.yaml", "FOUR: fourth-value\n")
    context = ResolutionContext(base_dir=sops.folder)
    for _ in range(2):
        for key in ("ONE", "TWO", "THREE"):
            context.resolve(f"sops:a.enc.env#{key}")
        context.resolve("sops:b.enc.yaml#FOUR")
        with pytest.raises(SopsError):
            context.resolve("sops:a.enc.env#MISSING")
    calls = sops.calls()
    assert len(calls) == 2
    assert calls[0].startswith("decrypt --input-type dotenv --output-type json ")
    assert calls[1].startswith("decrypt --input-type yaml --output-type json ")
    # A second run decrypts again: nothing is cached across runs.
    ResolutionContext(base_dir=sops.folder).resolve("sops:a.enc.env#ONE")
    assert len(sops.calls()) == 3


def test_a_missing_key_names_the_file_and_its_keys_never_a_value(sops: Sops) -> None:
    sops.encrypt("s.enc.env", f"STRIPE_KEY={STRIPE}\nOTHER=other-value\n")
    with pytest.raises(SopsError) as caught:
        ResolutionContext(base_dir=sops.folder).resolve("sops:s.enc.env#STRIPE")
    error = caught.value
    assert str(error) == (
        "sops:s.enc.env#STRIPE: the decrypted file has no key STRIPE (its keys: OTHER, STRIPE_KEY)"
    )
    assert (error.path, error.key, error.reference) == (
        "s.enc.env",
        "STRIPE",
        "sops:s.enc.env#STRIPE",
    )


def test_a_file_this_machine_has_no_key_for_gives_sops_reason_in_one_line(
    sops: Sops, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    sops.encrypt("s.enc.env", f"STRIPE_KEY={STRIPE}\n")
    (tmp_path / "other-key").mkdir()
    other = Sops(tmp_path / "other-key")  # a key that is not a recipient of the file
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(other.key_file))
    with pytest.raises(SopsError) as caught:
        ResolutionContext(base_dir=sops.folder).resolve("sops:s.enc.env#STRIPE_KEY")
    message = str(caught.value)
    assert message.startswith(
        "sops:s.enc.env#STRIPE_KEY: sops could not decrypt the file: Failed to get the data key"
    )
    assert "SOPS_AGE_KEY_FILE" in message and "\n" not in message
    assert STRIPE not in message and sops.recipient not in message


def test_a_plaintext_file_sops_cannot_read_is_refused_without_its_content(sops: Sops) -> None:
    # An unencrypted file whose first line is broken: sops quotes the line in its error.
    (sops.folder / "plain.env").write_text(f"{STRIPE} pasted here\nA=b\n", encoding="utf-8")
    (sops.folder / "clear.env").write_text(f"STRIPE_KEY={STRIPE}\n", encoding="utf-8")
    context = ResolutionContext(base_dir=sops.folder)
    with pytest.raises(SopsError) as broken:
        context.resolve("sops:plain.env#A")
    assert "invalid dotenv input line (the line is not shown)" in str(broken.value)
    with pytest.raises(SopsError) as clear:
        context.resolve("sops:clear.env#STRIPE_KEY")
    assert "sops metadata not found" in str(clear.value)
    for error in (broken.value, clear.value):
        assert STRIPE not in str(error) and STRIPE not in repr(vars(error))


@pytest.mark.parametrize(
    ("reference", "reason"),
    [
        ("sops:s.enc.env", "write sops:PATH#KEY"),
        ("sops:#KEY", "write sops:PATH#KEY"),
        ("sops:missing.enc.env#K", "the file does not exist"),
        ("sops:s.txt#K", "name it .env, .yaml, .yml or .json"),
        ("sops:folder.env#K", "not a regular file"),
    ],
)
def test_malformed_references_and_missing_files_say_what_to_do(
    sops: Sops, reference: str, reason: str
) -> None:
    (sops.folder / "folder.env").mkdir()
    (sops.folder / "s.txt").write_text("x")
    with pytest.raises(SopsError, match=reason):
        ResolutionContext(base_dir=sops.folder).resolve(reference)
    assert sops.calls() == []


def test_no_sops_program_says_how_to_get_one(sops: Sops, monkeypatch: pytest.MonkeyPatch) -> None:
    sops.encrypt("s.enc.env", "K=value-of-k\n")
    monkeypatch.setenv("RBX_SECRETS_SOPS", str(sops.folder / "no-such-sops"))
    with pytest.raises(SopsError, match=r"rbxsecrets-magic\[sops\]"):
        ResolutionContext(base_dir=sops.folder).resolve("sops:s.enc.env#K")
