"""Before deploying: could a game server send a stored secret to the URL the game calls?

``%rbx_secret_check`` and ``rbx-secrets check`` both use :func:`check_secret`: it reads the
secret's domain from a listing (no value is needed, and the API never returns one) and applies
the domain rule of :mod:`rbxsecrets_magic.opencloud.domains`. The URL is checked before any
request, and
no message repeats it (a URL may carry a token in its query), only its host.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import InvalidInputError
from ..opencloud.domains import DomainCheck, check_domain, suggest_domains, url_host

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient

__all__ = ["SecretCheck", "check_secret", "check_url", "is_plain_url"]


@dataclass(frozen=True)
class SecretCheck:
    """The answer for one universe.

    Attributes
    ----------
    name:
        The secret's id.
    label:
        The universe as the user named it (``"123 (staging)"``).
    host:
        The URL's host, as the domain rule compares it.
    domain:
        The domain rule's answer; ``None`` when the universe has no secret ``name``.
    """

    name: str
    label: str
    host: str
    domain: DomainCheck | None

    @property
    def allowed(self) -> bool:
        """Whether a game server of this universe could send the secret to the URL."""
        return self.domain is not None and self.domain.allowed

    def explain(self, *, with_universe: bool = False) -> str:
        """One line: yes or no, why, and when no, which ``--domain`` would allow it."""
        if self.domain is None:
            suggestions = suggest_domains(self.host)
            hint = (
                f"; set it with --domain {suggestions[0]} to allow {self.host}"
                if suggestions
                else ""
            )
            return (
                f"No secret named '{self.name}' in universe {self.label}: a game server "
                "there cannot send it anywhere (GetSecret fails with \"Can't find secret "
                f'with given key"){hint}.'
            )
        text = self.domain.explain(self.name)
        return f"Universe {self.label}: {text}" if with_universe else text


def check_url(url: str) -> str:
    """Check ``url`` before any request; return its host.

    Only the host matters, and a URL typed in a notebook or on a command line stays in its
    history; so a user name, query or fragment (where tokens hide) is refused, in both
    front ends.

    Raises
    ------
    InvalidInputError
        If ``url`` is not an absolute http(s) URL with a host, or carries a user name, query
        or fragment (the message never repeats it).
    """
    host = url_host(url)
    if not is_plain_url(url):
        raise InvalidInputError(
            "give the URL without its user name, query or fragment (a token there would "
            "stay in the history); only its host matters, e.g. https://api.example.com/"
        )
    return host


def is_plain_url(text: str) -> bool:
    """An http(s) URL with a valid host and no user, query or fragment (where tokens hide)."""
    if any(c in text for c in "?#@"):
        return False
    try:
        url_host(text)
    except InvalidInputError:
        return False
    return True


def check_secret(
    client: SecretsClient, name: str, url: str, label: str | None = None
) -> SecretCheck:
    """Say whether a game server of ``client``'s universe could send secret ``name`` to ``url``.

    Parameters
    ----------
    client:
        A client for the universe; only its listing is read.
    name:
        The secret's id (already validated).
    url:
        The absolute http(s) URL the game calls.
    label:
        How to name the universe in messages (default: its id).

    Raises
    ------
    InvalidInputError
        For a URL without a valid host, before any request.
    ApiError, TransportError
        When the listing fails.
    """
    host = check_url(url)
    label = label or str(client.universe_id)
    found = {info.id: info for info in client.list()}
    info = found.get(name)
    if info is None:
        return SecretCheck(name, label, host, None)
    return SecretCheck(name, label, host, check_domain(info.domain, url))
