"""Helpers for the fake's tests (this module holds no tests and no fixtures).

Imported as ``tests.fakeserver.support`` (the checkout is on ``sys.path`` through pytest's
``pythonpath`` setting), so it is loaded once whatever the ``--import-mode``; the fixtures built
on it are in ``conftest.py``. Importing ``conftest.py`` by name would load it a second time,
beside the copy pytest loads itself.

- :class:`WsgiClient` and :func:`call_app`: speak straight to the WSGI app; every response they
  return has already been checked against the published OpenAPI schemas of the service.
- :func:`seal`, :func:`full_setup`: a sealed value as a client sends it; a ready fake.
- :class:`FakeClock`: a monotonic clock that moves only when told to.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from nacl.public import PublicKey, SealedBox

from fakeserver import FakeOpenCloud

# Roblox's published OpenAPI description of the service, copied unchanged from
# Roblox/creator-docs content/en-us/reference/cloud/secrets-store-service/v1.json.
SCHEMA_FILE = Path(
    os.environ.get(
        "RBX_SECRETS_OPENAPI",
        Path(__file__).resolve().parent / "data" / "secrets-store-service.v1.json",
    )
)

GATEWAY_401 = {"errors": [{"code": 0, "message": "Invalid API Key"}]}


def openapi_to_jsonschema(node: Any) -> Any:
    """Convert an OpenAPI 3.0 schema fragment to JSON Schema (2020-12).

    OpenAPI 3.0 writes ``"nullable": true`` beside ``type``; JSON Schema has no such keyword, so
    a validator would silently ignore it and reject ``null``. It becomes a type list, or, beside a
    ``$ref``, an ``anyOf`` with ``{"type": "null"}``.
    """
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: openapi_to_jsonschema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if "type" in out:
            types = out["type"] if isinstance(out["type"], list) else [out["type"]]
            out["type"] = [*types, "null"] if "null" not in types else types
            if "enum" in out and None not in out["enum"]:
                out["enum"] = [*out["enum"], None]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    return out


# Every /server-management/v1/ path of Roblox's published openapi.json, copied unchanged from
# shared/reference (the contract's section 10).
SERVER_MANAGEMENT_FILE = Path(__file__).resolve().parent / "data" / "server-management.v1.json"
SERVER_MANAGEMENT_PREFIX = "/server-management/"


def _load_components(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    return openapi_to_jsonschema(document["components"])


COMPONENTS = _load_components(SCHEMA_FILE)
SERVER_MANAGEMENT_COMPONENTS = _load_components(SERVER_MANAGEMENT_FILE)


def validator(name: str, components: dict[str, Any] = COMPONENTS) -> Draft202012Validator:
    """A validator for ``#/components/schemas/<name>`` of a published document (by default
    the secrets store's)."""
    schema = {"components": copy.deepcopy(components), "$ref": f"#/components/schemas/{name}"}
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


VALIDATORS = {name: validator(name) for name in ("Secret", "SecretPaginatedList", "ProblemDetails")}
#: Server Management's schemas: its three answers and its ProblemDetails (integer status).
SM_VALIDATORS = {
    name: validator(name, SERVER_MANAGEMENT_COMPONENTS)
    for name in (
        "ForecastRestartResponse",
        "LaunchRestartResponse",
        "ListRestartStatusesResponse",
        "ServerManagementService.ProblemDetails",
    )
}

# Which schema a success answer of each operation must follow.
SUCCESS_SCHEMA = {
    "get_public_key": "Secret",
    "list_secrets": "SecretPaginatedList",
    "create_secret": "Secret",
    "update_secret": "Secret",
}


def seal(value: str | bytes, public_key_b64: str) -> str:
    """Seal a value for a public key, as a client does: base64 of ``crypto_box_seal``."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    box = SealedBox(PublicKey(base64.b64decode(public_key_b64)))
    return base64.b64encode(box.encrypt(data)).decode("ascii")


@dataclass
class Response:
    """A WSGI answer: status, headers (case-insensitive lookup via ``header``) and JSON body."""

    status: int
    headers: list[tuple[str, str]]
    raw: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.raw)

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        values = [v for k, v in self.headers if k.lower() == lowered]
        assert len(values) <= 1, f"header {name} sent {len(values)} times"
        return values[0] if values else None


def call_app(
    fake: FakeOpenCloud,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    query: str = "",
    content_length: str | None = None,
) -> Response:
    """Call the WSGI app once with a hand-built environ (no HTTP, no framework)."""
    data = body or b""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "apis.roblox.com",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(data),
        "CONTENT_LENGTH": str(len(data)) if content_length is None else content_length,
    }
    if body is not None:
        environ["CONTENT_TYPE"] = "application/json"
    for name, value in (headers or {}).items():
        key = name.upper().replace("-", "_")
        environ[key if key in ("CONTENT_TYPE",) else f"HTTP_{key}"] = value
    captured: dict[str, Any] = {}

    def start_response(status: str, response_headers: list[tuple[str, str]]) -> None:
        captured["status"] = status
        captured["headers"] = response_headers

    raw = b"".join(fake.app(environ, start_response))
    status_line: str = captured["status"]
    code = int(status_line.split(" ", 1)[0])
    response = Response(code, captured["headers"], raw)
    if path.startswith(SERVER_MANAGEMENT_PREFIX):
        check_server_management_response(response)
    else:
        check_response(fake, response)
    return response


def check_server_management_response(response: Response) -> None:
    """Assert an answer on a Server Management path is valid against that reference.

    Errors are its ProblemDetails with an integer ``status`` (the gateway's 401 too is valid
    there: every field is optional); a success is the schema of its shape.
    """
    assert response.header("Content-Type") == "application/json"
    assert response.header("Content-Length") == str(len(response.raw))
    body = response.json
    if response.status == 401:
        assert body == GATEWAY_401
    if response.status >= 400:
        SM_VALIDATORS["ServerManagementService.ProblemDetails"].validate(body)
        if response.status != 401:
            assert body["status"] == response.status
            assert set(body) == {"type", "title", "status", "detail", "instance"}
            assert body["detail"]
        return
    if "placeForecasts" in body:
        SM_VALIDATORS["ForecastRestartResponse"].validate(body)
    elif "restartStatuses" in body:
        SM_VALIDATORS["ListRestartStatusesResponse"].validate(body)
    else:
        SM_VALIDATORS["LaunchRestartResponse"].validate(body)
        assert body["id"]


def check_response(fake: FakeOpenCloud, response: Response, operation: str | None = None) -> None:
    """Assert the answer is well-formed: JSON, right length, and valid against the schemas."""
    assert response.header("Content-Type") == "application/json"
    assert response.header("Content-Length") == str(len(response.raw))
    body = response.json
    status = response.status
    if status == 401:
        assert body == GATEWAY_401
    elif status >= 400:
        if fake.problem_status_as_number:
            # The documented switch: ASP.NET's usual number instead of the schema's string.
            assert body["status"] == status
            VALIDATORS["ProblemDetails"].validate({**body, "status": str(status)})
        else:
            VALIDATORS["ProblemDetails"].validate(body)
            assert body["status"] == str(status)
        assert set(body) == {"type", "title", "status", "detail", "instance"}
        assert body["detail"]
    elif operation is not None and operation in SUCCESS_SCHEMA:
        VALIDATORS[SUCCESS_SCHEMA[operation]].validate(body)
    else:
        # Infer the operation from the shape when the caller did not say.
        if "secrets" in body:
            VALIDATORS["SecretPaginatedList"].validate(body)
            for item in body["secrets"]:
                VALIDATORS["Secret"].validate(item)
        elif body == {}:
            pass
        elif "value" in body:
            assert set(body) == {"id", "value"}
        else:
            VALIDATORS["Secret"].validate(body)


class WsgiClient:
    """A tiny client for one universe of a fake, speaking straight to its WSGI app.

    Parameters
    ----------
    fake:
        The fake.
    universe_id:
        The universe the paths name.
    headers:
        Credential headers (``ApiKey.headers`` / ``OAuthToken.headers``).
    """

    def __init__(self, fake: FakeOpenCloud, universe_id: int | str, headers: Mapping[str, str]):
        self.fake = fake
        self.universe_id = universe_id
        self.headers = dict(headers)
        self.base = f"/cloud/v2/universes/{universe_id}/secrets"

    def request(
        self,
        method: str,
        path: str,
        payload: Any = None,
        *,
        raw: bytes | None = None,
        query: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """Send one request; ``payload`` is JSON-encoded unless ``raw`` bytes are given."""
        body = raw
        if body is None and payload is not None:
            body = json.dumps(payload).encode()
        return call_app(
            self.fake,
            method,
            path,
            body=body,
            query=query,
            headers=self.headers if headers is None else headers,
        )

    def public_key(self) -> Response:
        """GET the public key."""
        response = self.request("GET", f"{self.base}/public-key")
        if response.status == 200:
            VALIDATORS["Secret"].validate(response.json)
        return response

    def key(self) -> tuple[str, str]:
        """``(key_id, public_key)`` of the universe, through the API."""
        body = self.public_key().json
        return body["key_id"], body["secret"]

    def list(self, query: str = "") -> Response:
        """GET one page of the list."""
        return self.request("GET", self.base, query=query)

    def create(self, secret_id: str, value: str, **extra: Any) -> Response:
        """POST a secret, sealed with the current key unless ``secret``/``key_id`` are given."""
        key_id, public = self.key()
        body = {"id": secret_id, "secret": seal(value, public), "key_id": key_id, **extra}
        return self.request("POST", self.base, body)

    def update(self, secret_id: str, value: str | None = None, **extra: Any) -> Response:
        """PATCH a secret; a ``value`` is sealed with the current key."""
        body: dict[str, Any] = {}
        if value is not None:
            key_id, public = self.key()
            body.update(secret=seal(value, public), key_id=key_id)
        body.update(extra)
        return self.request("PATCH", f"{self.base}/{secret_id}", body)

    def delete(self, secret_id: str) -> Response:
        """DELETE a secret."""
        return self.request("DELETE", f"{self.base}/{secret_id}")


def full_setup(**kwargs: Any) -> tuple[FakeOpenCloud, int, WsgiClient]:
    """A fake with one universe and one full API key, and a client for it."""
    fake = FakeOpenCloud(**kwargs)
    universe = fake.add_universe()
    api_key = fake.add_api_key()
    return fake, universe.universe_id, WsgiClient(fake, universe.universe_id, api_key.headers)


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
