"""``aws-sm:SECRET_ID[#JSON_KEY]`` through boto3 against moto's server on loopback."""

from __future__ import annotations

import pytest

from rbxsecrets_magic.errors import AwsSecretError
from rbxsecrets_magic.value_sources import ResolutionContext
from tests.rbxsecrets_magic.value_sources.real_parts import AwsSecretsManager

STRIPE = "sk_live_51Hq8JxAwsStripeValue0123"
WEBHOOK = "whsec_AwsWebhookValue456"


def test_a_secret_string_and_keys_of_a_json_secret(aws_sm: AwsSecretsManager) -> None:
    aws_sm.put("prod/plain", STRIPE)
    aws_sm.put("prod/stripe", {"key": STRIPE, "webhook": WEBHOOK})
    context = ResolutionContext()
    assert context.resolve("aws-sm:prod/plain").reveal() == STRIPE
    assert context.resolve("aws-sm:prod/stripe#key").reveal() == STRIPE
    assert context.resolve("aws-sm:prod/stripe#webhook").reveal() == WEBHOOK


def test_one_get_secret_value_per_secret_id_per_run(aws_sm: AwsSecretsManager) -> None:
    aws_sm.put("prod/stripe", {"key": STRIPE, "webhook": WEBHOOK, "other": "x-value"})
    aws_sm.put("prod/plain", STRIPE)
    arn = aws_sm.client().describe_secret(SecretId="prod/plain")["ARN"]
    context = ResolutionContext()
    for _ in range(3):
        for key in ("key", "webhook", "other"):
            context.resolve(f"aws-sm:prod/stripe#{key}")
        context.resolve("aws-sm:prod/plain")
        with pytest.raises(AwsSecretError):
            context.resolve("aws-sm:prod/stripe#missing")
        with pytest.raises(AwsSecretError):
            context.resolve("aws-sm:prod/missing")
    assert aws_sm.calls("GetSecretValue") == 3  # prod/stripe, prod/plain, prod/missing
    # The ARN is another secret id, so another call; a new run calls again.
    assert context.resolve(f"aws-sm:{arn}").reveal() == STRIPE
    assert aws_sm.calls("GetSecretValue") == 4
    ResolutionContext().resolve("aws-sm:prod/plain")
    assert aws_sm.calls("GetSecretValue") == 5


def test_a_changed_value_in_aws_is_read_by_the_next_run(aws_sm: AwsSecretsManager) -> None:
    aws_sm.put("prod/stripe", {"key": STRIPE})
    assert ResolutionContext().resolve("aws-sm:prod/stripe#key").reveal() == STRIPE
    aws_sm.put("prod/stripe", {"key": STRIPE + "-rotated"})
    assert ResolutionContext().resolve("aws-sm:prod/stripe#key").reveal() == STRIPE + "-rotated"


def test_missing_secrets_and_keys_say_which_and_never_the_value(
    aws_sm: AwsSecretsManager,
) -> None:
    aws_sm.put("prod/stripe", {"key": STRIPE, "webhook": WEBHOOK})
    aws_sm.put("prod/plain", STRIPE)
    context = ResolutionContext()
    with pytest.raises(AwsSecretError) as missing:
        context.resolve("aws-sm:prod/nope#key")
    assert str(missing.value) == (
        "aws-sm:prod/nope#key: AWS Secrets Manager has no such secret in us-east-1 "
        "(or it has no current value)"
    )
    assert (missing.value.secret_id, missing.value.json_key) == ("prod/nope", "key")
    with pytest.raises(AwsSecretError) as no_key:
        context.resolve("aws-sm:prod/stripe#nope")
    assert str(no_key.value) == (
        "aws-sm:prod/stripe#nope: the secret's JSON has no key nope (its keys: key, webhook)"
    )
    with pytest.raises(AwsSecretError) as not_json:
        context.resolve("aws-sm:prod/plain#key")
    assert "not a JSON object" in str(not_json.value)
    for error in (missing.value, no_key.value, not_json.value):
        assert STRIPE not in str(error) and WEBHOOK not in str(error)
        assert STRIPE not in repr(vars(error))
    with pytest.raises(AwsSecretError, match="write aws-sm:SECRET_ID"):
        context.resolve("aws-sm:prod/stripe#")


def test_no_region_says_how_to_set_one(
    aws_sm: AwsSecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(AwsSecretError, match="no AWS region is configured: set AWS_REGION"):
        ResolutionContext().resolve("aws-sm:prod/stripe")
    assert aws_sm.calls("GetSecretValue") == 0


def test_no_credentials_says_where_aws_looks(
    aws_sm: AwsSecretsManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(AwsSecretError, match="no AWS credentials were found"):
        ResolutionContext().resolve("aws-sm:prod/stripe")
    assert aws_sm.calls("GetSecretValue") == 0
