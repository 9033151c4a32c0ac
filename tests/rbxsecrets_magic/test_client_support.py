"""Helpers for the ``test_client*`` modules (this module holds no tests).

- :class:`VirtualClock`: one clock for the fake and the client, advanced by the client's
  sleeps, so a minute of rate limiting runs in milliseconds and deterministically.
- :class:`CannedAdapter`: a ``requests`` adapter answering scripted responses, for shapes the
  fake never sends (other timestamp spellings, empty bodies, redirects, HTML errors).
- :func:`strings_reachable_from`: everything an exception exposes, to prove no secret is in it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from rbxsecrets_magic.client import SecretsClient


class VirtualClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(0.0, seconds)


def client_for(cloud: Any, **kwargs: Any) -> SecretsClient:
    """A client for a ``fake_open_cloud`` handle over loopback HTTP, unpaced by default."""
    kwargs.setdefault("rate_limit", None)
    return SecretsClient(
        cloud.universe_id, api_key=cloud.api_key, base_url=cloud.url, **kwargs
    )


def mounted_client(cloud: Any, **kwargs: Any) -> SecretsClient:
    """A client whose session reaches the fake in-process through ``fake.mount``."""
    session = requests.Session()
    cloud.fake.mount(session)
    kwargs.setdefault("rate_limit", None)
    return SecretsClient(cloud.universe_id, api_key=cloud.api_key, session=session, **kwargs)


class CannedAdapter(BaseAdapter):
    """Answers each request with the next scripted ``(status, body, headers)``.

    ``body`` is a dict (sent as JSON), bytes or str. Records every prepared request.
    """

    def __init__(self, *answers: tuple[int, Any, dict[str, str]]) -> None:
        super().__init__()
        self.answers = list(answers)
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        status, body, headers = self.answers.pop(0)
        response = requests.Response()
        response.status_code = status
        response.request = request
        response.url = request.url or ""
        if isinstance(body, (dict, list)):
            response._content = json.dumps(body).encode()
            headers = {"Content-Type": "application/json", **headers}
        else:
            response._content = body.encode() if isinstance(body, str) else body
        response.headers = CaseInsensitiveDict(headers)
        return response

    def close(self) -> None:
        pass


def canned_client(*answers: tuple[int, Any, dict[str, str]], **kwargs: Any) -> tuple[SecretsClient, CannedAdapter]:
    """A client on https://apis.roblox.com whose session answers from a script."""
    adapter = CannedAdapter(*answers)
    session = requests.Session()
    session.mount("https://apis.roblox.com", adapter)
    kwargs.setdefault("rate_limit", None)
    kwargs.setdefault("api_key", "canned-api-key-0123456789")
    client = SecretsClient(123, session=session, **kwargs)
    return client, adapter


def strings_reachable_from(error: BaseException) -> Iterator[str]:
    """``str``, ``repr``, args and attribute reprs of an exception and its whole chain."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield str(current)
        yield repr(current)
        for arg in current.args:
            yield repr(arg)
        for name, value in vars(current).items():
            yield f"{name}={value!r}"
            if isinstance(value, requests.PreparedRequest):
                yield repr(dict(value.headers))
                yield repr(value.body)
        pending.extend([current.__cause__, current.__context__])
