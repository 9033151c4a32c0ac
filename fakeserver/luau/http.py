"""``HttpService``'s methods in Luau, bound to the Python game server's rules.

Every rule of the contract's sections 9 and 11 (the domain rule, the body ban, private
secrets, HTTP disabled, Open Cloud, blocked ports, per-server limits) is checked by
:meth:`fakeserver.backend.gameservers.GameServer.http_request`; this module only turns Luau
arguments into its arguments and its
:class:`~fakeserver.backend.gameservers.GameServerError` into the Luau error ``pcall`` sees.
A request that passes goes to the test's responder, never to a network.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from http import HTTPStatus
from typing import TYPE_CHECKING
from urllib.parse import quote

from ..backend.gameservers import NOT_FOUND_MESSAGE, GameServerError, Secret
from ..errors import LuauValueError
from .kinds import CONTENT_TYPES, EnumItem, Response
from .values import lua_text, to_luau, to_python, type_name

if TYPE_CHECKING:
    from .engine import Runtime
    from .rojo import Instance

__all__ = ["METHODS"]

_OPTIONS = ("Url", "Method", "Headers", "Body", "Compress", "Timeout")


def _part(rt: Runtime, value: object, what: str) -> str | Secret:
    """A URL or header value: a Luau string or a Secret handle."""
    secret = rt.unwrap(value, Secret)
    if isinstance(secret, Secret):
        return secret
    if isinstance(value, (str, rt.pluau.String)):
        return rt.text(value, what)
    raise rt.error(f"{what} must be a string or a Secret, got {type_name(value)}")


def _body(rt: Runtime, value: object) -> str | Secret | None:
    secret = rt.unwrap(value, Secret)
    if isinstance(secret, Secret):
        return secret  # refused by the game server, which names the secret
    if value is None:
        return None
    if isinstance(value, (str, rt.pluau.String)):
        return rt.text(value, "Body")
    raise rt.error(f"Body must be a string, got {type_name(value)}")


def _headers(rt: Runtime, table: object) -> dict[str, str | Secret]:
    if table is None:
        return {}
    if not isinstance(table, rt.pluau.Table):
        raise rt.error(f"Headers must be a table, got {type_name(table)}")
    headers: dict[str, str | Secret] = {}
    for name, value in table:
        key = rt.text(name, "a header name")
        headers[key] = _part(rt, value, f"header {key}")
    return headers


def _send(
    rt: Runtime,
    url: str | Secret,
    method: str,
    headers: dict[str, str | Secret],
    body: str | Secret | None,
) -> Response:
    """Check the request on the game server, record it and get the test's answer."""
    try:
        request = rt.server.http_request(url, headers, body, method=method)  # type: ignore[arg-type]  # a Secret body is refused there
    except (GameServerError, TypeError) as exc:
        raise rt.error(str(exc)) from None
    response = rt.send(request)
    if response is None:  # no responder: as if the host could not be reached
        raise rt.error("HttpError: ConnectFail")
    return response


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _raise_for_status(rt: Runtime, response: Response) -> None:
    if not 200 <= response.status < 300:
        raise rt.error(f"HTTP {response.status} ({_reason(response.status)})")


# --------------------------------------------------------------------------- methods


def _get_secret(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    name = rt.text(args[0] if args else None, "GetSecret")
    if rt.client:
        raise rt.error(NOT_FOUND_MESSAGE)
    try:
        return [rt.wrap_secret(rt.server.get_secret(name))]
    except GameServerError as exc:
        raise rt.error(str(exc)) from None


def _request_async(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    options = args[0] if args else None
    if not isinstance(options, rt.pluau.Table):
        raise rt.error(f"RequestAsync expects a table of options, got {type_name(options)}")
    given: dict[str, object] = {}
    for key, value in options:
        name = lua_text(key, strict=False) if isinstance(key, (str, rt.pluau.String)) else "?"
        if name not in _OPTIONS:
            raise rt.error(f"RequestAsync: unknown option {name} (options: {', '.join(_OPTIONS)})")
        given[name] = value
    if "Url" not in given:
        raise rt.error("RequestAsync: the Url option is required")
    method = rt.text(given.get("Method", "GET"), "Method").upper()
    response = _send(
        rt,
        _part(rt, given["Url"], "Url"),
        method,
        _headers(rt, given.get("Headers")),
        _body(rt, given.get("Body")),
    )
    return [
        to_luau(
            rt.lua,
            {
                "Success": 200 <= response.status < 300,
                "StatusCode": response.status,
                "StatusMessage": _reason(response.status),
                "Headers": dict(response.headers),
                "Body": response.body,
            },
        )
    ]


def _get_async(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    url = _part(rt, args[0] if args else None, "Url")
    headers = _headers(rt, args[2] if len(args) > 2 else None)
    response = _send(rt, url, "GET", headers, None)
    _raise_for_status(rt, response)
    return [response.body]


def _post_async(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    url = _part(rt, args[0] if args else None, "Url")
    body = _body(rt, args[1] if len(args) > 1 else None)
    content = args[2] if len(args) > 2 else None
    kind = rt.unwrap(content, EnumItem)
    if content is not None and not (
        isinstance(kind, EnumItem) and kind.enum_type == "HttpContentType"
    ):
        raise rt.error("PostAsync: the content type must be an Enum.HttpContentType")
    headers = _headers(rt, args[4] if len(args) > 4 else None)
    if not any(name.lower() == "content-type" for name in headers):
        chosen = kind.name if isinstance(kind, EnumItem) else "ApplicationJson"
        headers["Content-Type"] = CONTENT_TYPES[chosen]
    response = _send(rt, url, "POST", headers, body)
    _raise_for_status(rt, response)
    return [response.body]


def _json_encode(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    try:
        value = to_python(args[0] if args else None, json=True)
        return [json.dumps(value, separators=(",", ":"), ensure_ascii=False)]
    except LuauValueError as exc:
        raise rt.error(f"Can't convert to JSON: {exc}") from None


def _json_decode(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    text = rt.text(args[0] if args else None, "JSONDecode")
    try:
        return [to_luau(rt.lua, json.loads(text))]
    except ValueError as exc:
        raise rt.error(f"Can't parse JSON: {exc}") from None


def _url_encode(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    return [quote(rt.text(args[0] if args else None, "UrlEncode"), safe="")]


def _generate_guid(rt: Runtime, inst: Instance, args: tuple[object, ...]) -> list[object]:
    guid = str(uuid.uuid4()).upper()
    braces = not args or args[0] is None or bool(args[0])  # Roblox's default is true
    return [f"{{{guid}}}" if braces else guid]


METHODS: dict[str, Callable[[Runtime, Instance, tuple[object, ...]], list[object]]] = {
    "GetSecret": _get_secret,
    "RequestAsync": _request_async,
    "GetAsync": _get_async,
    "PostAsync": _post_async,
    "JSONEncode": _json_encode,
    "JSONDecode": _json_decode,
    "UrlEncode": _url_encode,
    "GenerateGUID": _generate_guid,
}
