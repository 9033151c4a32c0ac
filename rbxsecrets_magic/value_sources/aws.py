"""``aws-sm:SECRET_ID[#JSON_KEY]``: a value from AWS Secrets Manager, through ``boto3``.

The region and the credentials come from the usual AWS chain (``AWS_REGION`` or
``AWS_DEFAULT_REGION``, ``AWS_PROFILE``, ``~/.aws/config``, an instance or task role), and the
endpoint from ``AWS_ENDPOINT_URL_SECRETS_MANAGER`` or ``AWS_ENDPOINT_URL`` when set, as every
AWS tool does. ``SECRET_ID`` is the secret's name or ARN; without ``#JSON_KEY`` the value is the
whole secret string, with it the secret string is a JSON object and the value is that key's.
Each secret id is fetched once per run (``GetSecretValue``), however many keys are used.
Needs the ``aws`` extra (``boto3``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Protocol

from ..errors import AwsSecretError
from .context import ResolutionContext
from .reference import Reference

__all__ = ["resolve"]

_MISSING = object()
# Builds the error for one reference from a reason (see resolve).
_Fail = Callable[[str], AwsSecretError]


class _ClientMeta(Protocol):
    region_name: str


class _SecretsManagerClient(Protocol):
    """The part of boto3's secretsmanager client used here (boto3 has no type information)."""

    meta: _ClientMeta

    def get_secret_value(self, *, SecretId: str) -> Mapping[str, object]: ...  # noqa: N803


class _NoResponseBodies(logging.Filter):
    """Drops botocore's DEBUG record of a response body while this module reads a secret.

    With DEBUG logging on (``logging.basicConfig(level=logging.DEBUG)``), botocore logs every
    response body, which for ``GetSecretValue`` is the secret. The caller's own use of boto3
    is left alone: only the calls made here, on this thread, are filtered.
    """

    def __init__(self) -> None:
        super().__init__()
        self.reading = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        busy = getattr(self.reading, "active", False)
        return not (busy and str(record.msg).startswith("Response body"))


_FILTER = _NoResponseBodies()
_FILTERED_LOGGER = "botocore.parsers"


class _Secret:
    """A fetched secret string; its repr shows only its length."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"<AWS secret string: {len(self.text)} characters>"

    def wipe(self) -> None:
        """Drop the secret string (see ResolutionContext.close)."""
        self.text = ""


def resolve(reference: Reference, context: ResolutionContext) -> str:
    """The secret string of ``SECRET_ID``, or its ``JSON_KEY``.

    Raises
    ------
    AwsSecretError
        No such secret or key, no region or credentials, AWS refused or did not answer.
    """
    secret_id, hash_sign, json_key = reference.body.partition("#")

    def fail(reason: str) -> AwsSecretError:
        return AwsSecretError(
            reference.text, reason, secret_id=secret_id, json_key=json_key if hash_sign else None
        )

    if not secret_id or (hash_sign and not json_key):
        raise fail("write aws-sm:SECRET_ID or aws-sm:SECRET_ID#JSON_KEY")
    secret = context.once(("aws-sm", secret_id), lambda: _fetch(secret_id, context, fail))
    if not hash_sign:
        return secret.text
    document = context.once(("aws-sm json", secret_id), lambda: _json(secret, fail))
    found = document.get(json_key, _MISSING)
    if found is _MISSING:
        keys = sorted(str(k) for k in document)
        shown = ", ".join(keys[:10]) + (", ..." if len(keys) > 10 else "")
        raise fail(f"the secret's JSON has no key {json_key} (its keys: {shown or 'none'})")
    if isinstance(found, bool) or not isinstance(found, (str, int)):
        raise fail(f"the JSON key {json_key} holds {type(found).__name__}, not text")
    return str(found)


def _client(fail: _Fail) -> _SecretsManagerClient:
    try:
        import boto3
    except ImportError:
        raise fail("boto3 is not installed: pip install 'rbxsecrets-magic[aws]'") from None
    session = boto3.session.Session()
    if not session.region_name:
        raise fail(
            "no AWS region is configured: set AWS_REGION (or AWS_DEFAULT_REGION), or a "
            "region in the AWS profile"
        )
    client: _SecretsManagerClient = session.client("secretsmanager")
    return client


def _fetch(secret_id: str, context: ResolutionContext, fail: _Fail) -> _Secret:
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    client = context.once(("aws-sm", "client"), lambda: _client(fail))
    region = client.meta.region_name
    problem = None
    logger = logging.getLogger(_FILTERED_LOGGER)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    _FILTER.reading.active = True
    try:
        answer = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        problem = _client_problem(exc, region)
    except NoCredentialsError:
        problem = (
            "no AWS credentials were found (the usual chain: AWS_ACCESS_KEY_ID, AWS_PROFILE, "
            "~/.aws/credentials, an instance or task role)"
        )
    except BotoCoreError as exc:
        problem = f"AWS Secrets Manager could not be reached in {region} ({type(exc).__name__})"
    finally:
        _FILTER.reading.active = False
    if problem is not None:
        raise fail(problem)
    found = answer.get("SecretString")
    text = found if isinstance(found, str) else None
    if text is None:
        binary = answer.get("SecretBinary")
        try:
            text = bytes(binary).decode("utf-8") if isinstance(binary, bytes) else None
        except UnicodeDecodeError:
            problem = "the secret is binary and not UTF-8 text"
        if problem is not None:
            raise fail(problem)
    if text is None:
        raise fail("the secret has no value (no current version)")
    return _Secret(text)


def _client_problem(exc: Exception, region: str) -> str:
    error = getattr(exc, "response", {}).get("Error", {})
    code = str(error.get("Code", "")) or type(exc).__name__
    if code == "ResourceNotFoundException":
        return f"AWS Secrets Manager has no such secret in {region} (or it has no current value)"
    if code in ("AccessDeniedException", "UnrecognizedClientException"):
        return f"AWS refused to read the secret in {region} ({code}): check the credentials' access"
    if code == "DecryptionFailure":
        return f"AWS could not decrypt the secret with its KMS key ({code})"
    return f"AWS Secrets Manager refused in {region} ({code})"


def _json(secret: _Secret, fail: _Fail) -> dict[str, object]:
    try:
        data = json.loads(secret.text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise fail("the secret string is not a JSON object, so #JSON_KEY cannot be looked up")
    return data
