"""Hypothesis strategies drawn from JSON Schema (the subset Roblox's OpenAPI files use).

:func:`from_schema` turns a schema (after :func:`~tests.fakeserver.support.openapi_to_jsonschema`,
so ``nullable`` is already a type list) into a strategy of JSON values it accepts: ``$ref`` into
the document's components, ``allOf``/``anyOf``, type lists, objects with optional properties
and ``additionalProperties``, integers within ``minimum``/``maximum`` and their ``format``,
strings, booleans, arrays, ``enum``. A schema that says nothing (``{}``) accepts any JSON value.
No third-party generator is needed: hypothesis-jsonschema no longer runs on current Hypothesis.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

__all__ = ["any_json", "from_schema"]

_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}

any_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def from_schema(
    schema: Any,
    components: dict[str, Any],
    *,
    keys: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[Any]:
    """Values valid against ``schema``; ``keys`` draws the keys of ``additionalProperties``
    maps (default: any text), so a test can favour keys that mean something (place ids)."""
    return _Builder(components, st.text(max_size=12) if keys is None else keys).build(schema)


class _Builder:
    def __init__(self, components: dict[str, Any], keys: st.SearchStrategy[str]) -> None:
        self.components = components
        self.keys = keys

    def build(self, schema: Any) -> st.SearchStrategy[Any]:
        if schema is True or schema == {} or not isinstance(schema, dict):
            return any_json
        if "$ref" in schema:
            name = schema["$ref"].rpartition("/")[2]
            return st.deferred(lambda: self.build(self.components["schemas"][name]))
        if "enum" in schema:
            return st.sampled_from(schema["enum"])
        if "allOf" in schema:
            # The references use allOf with one schema (a $ref and a description).
            assert len(schema["allOf"]) == 1, "only single-schema allOf is supported"
            return self.build(schema["allOf"][0])
        if "anyOf" in schema:
            return st.one_of([self.build(option) for option in schema["anyOf"]])
        kind = schema.get("type")
        if kind is None:
            return any_json
        if isinstance(kind, list):
            return st.one_of([self.build({**schema, "type": one}) for one in kind])
        return self._typed(kind, schema)

    def _typed(self, kind: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        if kind == "null":
            return st.none()
        if kind == "boolean":
            return st.booleans()
        if kind == "integer":
            low, high = _BOUNDS.get(schema.get("format", ""), (None, None))
            low = schema.get("minimum", low)
            high = schema.get("maximum", high)
            return st.integers(low, high)
        if kind == "number":
            return st.floats(allow_nan=False, allow_infinity=False)
        if kind == "string":
            return st.text(max_size=30)
        if kind == "array":
            return st.lists(self.build(schema.get("items", {})), max_size=5)
        assert kind == "object", kind
        properties = {name: self.build(sub) for name, sub in schema.get("properties", {}).items()}
        extra = schema.get("additionalProperties", True)
        fixed = st.fixed_dictionaries({}, optional=properties)
        if extra is False:
            return fixed
        more = st.dictionaries(self.keys, self.build(extra), max_size=4)
        return st.tuples(more, fixed).map(lambda parts: {**parts[0], **parts[1]})
