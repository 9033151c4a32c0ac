"""Every kind of answer validates against Roblox's published OpenAPI schemas.

The helpers validate every response in every test already; this module pins the conversion of
OpenAPI 3.0 ``nullable`` to JSON Schema, shows the validators really reject bad shapes, and
walks each operation and each error status explicitly.
"""

from __future__ import annotations

import json

import jsonschema
import pytest

from tests.fakeserver.support import (
    COMPONENTS,
    SCHEMA_FILE,
    VALIDATORS,
    WsgiClient,
    full_setup,
    openapi_to_jsonschema,
    seal,
)


def test_nullable_becomes_a_type_list():
    assert openapi_to_jsonschema({"type": "string", "nullable": True}) == {
        "type": ["string", "null"]
    }
    assert openapi_to_jsonschema({"type": "string"}) == {"type": "string"}
    assert openapi_to_jsonschema({"$ref": "#/x", "nullable": True}) == {
        "anyOf": [{"$ref": "#/x"}, {"type": "null"}]
    }
    assert openapi_to_jsonschema({"type": "string", "enum": ["a"], "nullable": True}) == {
        "type": ["string", "null"],
        "enum": ["a", None],
    }
    nested = openapi_to_jsonschema(
        {"properties": {"a": {"type": "array", "items": {"type": "integer", "nullable": True}}}}
    )
    assert nested["properties"]["a"]["items"]["type"] == ["integer", "null"]


def test_converted_components_have_no_nullable_left():
    assert "nullable" not in json.dumps(COMPONENTS)
    secret = COMPONENTS["schemas"]["Secret"]
    assert secret["additionalProperties"] is False
    assert secret["properties"]["domain"]["type"] == ["string", "null"]
    assert set(secret["properties"]) == {
        "id",
        "secret",
        "key_id",
        "domain",
        "create_time",
        "update_time",
    }
    assert SCHEMA_FILE.exists()


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("Secret", {"id": "x", "value": "leak"}),
        ("Secret", {"id": 5}),
        ("Secret", {"created": "2024-01-01"}),
        ("Secret", []),
        ("SecretPaginatedList", {"secrets": [{"id": "x", "extra": 1}]}),
        ("SecretPaginatedList", {"secrets": [], "next_page_cursor": None}),
        ("SecretPaginatedList", {"secrets": "x"}),
        ("ProblemDetails", {"status": 400}),
        ("ProblemDetails", {"detail": ["x"]}),
    ],
)
def test_validators_reject_bad_shapes(schema, body):
    with pytest.raises(jsonschema.ValidationError):
        VALIDATORS[schema].validate(body)


@pytest.mark.parametrize(
    ("schema", "body"),
    [
        ("Secret", {"id": "x", "domain": None, "key_id": "1", "create_time": None}),
        ("SecretPaginatedList", {"secrets": None, "nextPageCursor": None}),
        ("ProblemDetails", {"status": None, "anything": [1, 2]}),
    ],
)
def test_validators_accept_nulls_where_the_schema_allows_them(schema, body):
    VALIDATORS[schema].validate(body)


def test_every_operation_and_error_status_validates():
    fake, uid, client = full_setup()
    read_only = WsgiClient(fake, uid, fake.add_api_key(write=False).headers)
    _key_id, public = client.key()
    bodies = []

    def record(response, schema):
        if schema == "gateway":
            assert response.json == {"errors": [{"code": 0, "message": "Invalid API Key"}]}
        elif schema is not None:
            VALIDATORS[schema].validate(response.json)
        bodies.append((response.status, schema))

    record(client.public_key(), "Secret")
    record(client.list(), "SecretPaginatedList")
    for i in range(3):
        record(client.create(f"s{i}", "v", domain="*.example.com" if i else ""), "Secret")
    page = client.list("limit=1").json
    VALIDATORS["SecretPaginatedList"].validate(page)
    for item in page["secrets"]:
        VALIDATORS["Secret"].validate(item)
    record(client.list(f"limit=1&cursor={page['nextPageCursor']}"), "SecretPaginatedList")
    record(client.update("s1", "v2"), "Secret")
    record(client.update("s1", domain=""), "Secret")
    response = client.delete("s2")
    assert response.json == {}
    record(client.create("s0", "v"), "ProblemDetails")  # 409
    record(client.create("0bad", "v"), "ProblemDetails")  # 400
    record(client.delete("missing"), "ProblemDetails")  # 404
    record(read_only.delete("s0"), "ProblemDetails")  # 403
    record(client.request("PUT", client.base), "ProblemDetails")  # 405
    record(client.request("GET", "/nope"), "ProblemDetails")  # 404 path
    record(client.request("GET", client.base, headers={}), "gateway")  # 401
    fake.inject_fault("list_secrets", status=503)
    record(client.list(), "ProblemDetails")
    fake.set_rate_limit(1, 60)
    client.list()
    record(client.list(), "ProblemDetails")  # 429
    statuses = sorted({status for status, _ in bodies})
    assert statuses == [200, 201, 400, 401, 403, 404, 405, 409, 429, 503]
    sealed = seal("v", public)
    assert sealed not in json.dumps(bodies)


def test_the_schema_copy_matches_the_shared_reference_when_it_is_beside_the_checkout():
    # Development checkouts sit next to ../shared, the reference the contract names; a clone
    # elsewhere has only the copy inside the repository, which is checked against its pinned
    # digest instead of skipping: either way the copy cannot drift unnoticed.
    import hashlib
    from pathlib import Path

    copy = Path(__file__).resolve().parent / "data" / "secrets-store-service.v1.json"
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == SCHEMA_COPY_SHA256
    shared = Path(__file__).resolve().parents[3] / "shared" / "reference" / copy.name
    if shared.is_file():
        assert copy.read_bytes() == shared.read_bytes()


# Of Roblox's file as copied (see test_app_support.SCHEMA_FILE); update with the copy.
SCHEMA_COPY_SHA256 = "b7be6593e3274bc47e027cf6e235598519fdfe44483fae4450fec8bac0c47619"
