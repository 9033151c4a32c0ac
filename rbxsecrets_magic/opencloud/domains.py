"""Would a game server send a secret to a URL? The domain rule, checked before deploying.

The rule is the contract's section 9 (``secrets-api.md``); the parts Roblox does not document
are the project's choices, marked * there:

- a private secret (no domain: ``None`` or ``""``) cannot be sent anywhere;
- ``*`` allows every host;
- ``api.example.com`` allows exactly that host;
- ``*.example.com`` allows every host ending in ``.example.com``, at any depth*, and not
  ``example.com`` itself*;
- hosts are compared ignoring case, port and scheme*.

A URL must be an absolute ``http://`` or ``https://`` URL with a host name, an IPv4 address or
a bracketed IPv6 address (the only requests ``HttpService`` sends); anything else is an
:class:`~rbxsecrets_magic.errors.InvalidInputError`. Non-ASCII host names compare in their
ASCII (``xn--``) form under UTS 46 / IDNA 2008 (``faß.de`` is ``xn--fa-hia.de``, as browsers
connect to it, not IDNA 2003's ``fass.de``), and one trailing dot is ignored
(``api.example.com.`` is the same host).

The fake server emulates the same rule in ``fakeserver.gameservers``; the two packages never
import each other, and ``tests/data/domain_cases.json`` holds the one table of cases both must
answer alike. Messages never repeat the URL, only its host: a URL may carry a token in its
query. This module imports only the standard library.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from ..errors import InvalidInputError
from .validation import validate_domain

__all__ = ["DomainCheck", "check_domain", "domain_allows", "suggest_domains", "url_host"]

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_AUTHORITY_END = re.compile(r"[/?#]")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_MAX_HOST_CHARS = 253
# Second-level labels that registries sell under a country code ("example.co.uk"): a wildcard
# one level up from "example.co.uk" would be "*.co.uk", which no one means.
_REGISTRY_LABELS = frozenset(("ac", "co", "com", "edu", "gov", "go", "ne", "net", "or", "org"))


def url_host(url: str) -> str:
    """Return the host a game server would connect to for ``url``, normalized.

    The host is folded to lower case, converted to its UTS 46 ASCII form when it is not ASCII, and
    loses one trailing dot; the scheme, user, port, path, query and fragment are dropped. An
    IPv6 address keeps its brackets, in compressed form (``[::1]``).

    Raises
    ------
    InvalidInputError
        If ``url`` is not an absolute http(s) URL with a valid host. The message never
        repeats the URL.
    """
    if not isinstance(url, str):
        raise InvalidInputError(f"Invalid URL: expected a string, got {type(url).__name__}.")
    match = _SCHEME.match(url)
    if match is None:
        raise InvalidInputError(
            "Invalid URL: it has no host (it does not start with https:// or http://); "
            "give a full URL such as https://api.example.com/path."
        )
    if match.group(1).lower() not in ("http", "https"):
        raise InvalidInputError(
            "Invalid URL: a game server's HttpService sends only http:// and https:// URLs."
        )
    rest = url[match.end() :]
    end = _AUTHORITY_END.search(rest)
    authority = rest[: end.start()] if end else rest
    if "\\" in authority or any(ch.isspace() or not ch.isprintable() for ch in authority):
        raise InvalidInputError(
            "Invalid URL: its host part contains a backslash, a space or a control character."
        )
    host_port = authority.rpartition("@")[2]
    if host_port.startswith("["):
        close = host_port.find("]")
        host, port = host_port[: close + 1], host_port[close + 1 :]
        if close < 0 or (port and not port.startswith(":")):
            raise InvalidInputError("Invalid URL: its IPv6 address is not closed by ']'.")
        port = port[1:]
    else:
        host, _, port = host_port.partition(":")
    if port and not (port.isascii() and port.isdigit() and int(port) <= 65535):
        raise InvalidInputError("Invalid URL: its port is not a number from 0 to 65535.")
    if not host:
        raise InvalidInputError(
            "Invalid URL: it has no host; give a full URL such as https://api.example.com/path."
        )
    return _normalize_host(host)


def _normalize_host(host: str) -> str:
    """Fold, IDNA-encode and check a host taken from a URL's authority."""
    if host.startswith("["):
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidInputError("Invalid URL: its host is not a valid IPv6 address.") from None
        return f"[{address.compressed}]"
    if not host.isascii():
        try:
            host = _ascii_host(host)
        except UnicodeError:
            raise InvalidInputError(
                "Invalid URL: its host is not a valid international host name."
            ) from None
    host = host.lower()
    if host.endswith("."):
        host = host[:-1]
    if len(host) > _MAX_HOST_CHARS or not all(_LABEL.fullmatch(x) for x in host.split(".")):
        raise InvalidInputError(
            "Invalid URL: its host is not a host name (letters, digits, hyphens and dots), "
            "an IPv4 address or a bracketed IPv6 address."
        )
    return host


def _ascii_host(host: str) -> str:
    """The ASCII form HTTP stacks connect to: UTS 46 (IDNA 2008), not IDNA 2003.

    Python's ``"idna"`` codec is IDNA 2003, which folds ``faß.de`` to ``fass.de``; browsers and
    current clients connect to ``xn--fa-hia.de``. Raises ``UnicodeError`` (``idna.IDNAError``)
    for a name UTS 46 refuses (joiners out of context, mixed directions, over-long labels).
    """
    import idna  # only for international names: most hosts are ASCII

    return idna.encode(host, uts46=True, transitional=False).decode("ascii")


def domain_allows(domain: str | None, host: str) -> bool:
    """Whether a secret with ``domain`` may be sent to ``host`` (as :func:`url_host` gives it).

    ``domain`` is a stored domain, in any case; ``None`` or ``""`` is private.
    """
    if not domain:
        return False
    domain = domain.lower()
    if domain == "*":
        return True
    if domain.startswith("*."):
        # domain[1:] keeps the dot: "*.example.com" allows "a.example.com", not "example.com".
        return host.endswith(domain[1:])
    return host == domain


def suggest_domains(host: str) -> tuple[str, ...]:
    """The ``--domain`` values that would allow ``host``, narrowest first; never ``"*"``.

    The host itself always, unless it is an IPv6 address, which no domain but ``*`` can name.
    The wildcard one level up (``*.example.com`` for ``api.example.com``) when that parent is
    neither a top-level domain, nor a registry's second level such as ``co.uk``, nor part of
    an IPv4 address.
    """
    if host.startswith("["):
        return ()
    labels = host.split(".")
    found = [host]
    parent = labels[1:]
    registry = len(parent) == 2 and parent[0] in _REGISTRY_LABELS and len(parent[1]) == 2
    if len(parent) >= 2 and not registry and not _IPV4.fullmatch(host):
        found.append("*." + ".".join(parent))
    return tuple(found)


@dataclass(frozen=True)
class DomainCheck:
    """The answer to "could a game server send this secret to this URL?".

    Attributes
    ----------
    allowed:
        Whether the secret's domain allows the URL's host.
    domain:
        The secret's domain, lower case; ``None`` when the secret is private.
    host:
        The URL's host as the rule compares it (see :func:`url_host`).
    suggestions:
        When not allowed, the ``--domain`` values that would allow the host, narrowest first
        (see :func:`suggest_domains`); empty when allowed.
    """

    allowed: bool
    domain: str | None
    host: str
    suggestions: tuple[str, ...]

    def explain(self, name: str | None = None) -> str:
        """One line for a user: yes or no, why, and when no, which ``--domain`` would do.

        ``name`` is the secret's name, used in the sentence when given.
        """
        subject = name or "the secret"
        if self.allowed:
            what = "every host" if self.domain == "*" else self.host
            return (
                f"Yes: a game server can send {subject} to {self.host} "
                f"(domain {_shown(self.domain)} allows {what})."
            )
        if self.domain is None:
            why = f"{subject} is private (no domain), so a game server cannot send it anywhere"
        else:
            why = f"the domain {_shown(self.domain)} of {subject} does not allow {self.host}"
        return f"No: {why}. {self._remedy(subject)}"

    def _remedy(self, subject: str) -> str:
        """What to set instead, and what that costs."""
        if not self.suggestions:
            return (
                "No domain can name an IPv6 address: only --domain '*' would allow it, and '*' "
                f"lets a game server send {subject} to every host; prefer a host name."
            )
        options = [f"--domain {self.host} (this host only)"]
        options += [
            f"--domain {_shown(wild)} (every host under {wild[2:]})"
            for wild in self.suggestions[1:]
        ]
        remedy = "To allow it, set " + " or ".join(options) + "."
        if self.domain is not None:
            remedy += f" A secret has one domain: this replaces {_shown(self.domain)}"
            if self.domain.startswith("*.") and self.host == self.domain[2:]:
                # The apex and its subdomains: no single domain but "*" covers both.
                remedy += f", and only '*' (every host) covers both {self.host} and its subdomains"
            remedy += "."
        return remedy


def _shown(domain: str | None) -> str:
    """A domain as a user would type it on a command line (wildcards quoted)."""
    if domain is None:
        return "(none)"
    return f"'{domain}'" if "*" in domain else domain


def check_domain(domain: str | None, url: str) -> DomainCheck:
    """Say whether a game server could send a secret with ``domain`` to ``url``.

    Parameters
    ----------
    domain:
        The secret's domain as a listing reports it: ``None`` or ``""`` (private), ``"*"``,
        ``"api.example.com"`` or ``"*.example.com"``; case does not matter.
    url:
        The absolute http(s) URL the game calls.

    Raises
    ------
    InvalidInputError
        If the URL has no valid host, or the domain breaks the domain rules.

    Examples
    --------
    >>> check_domain("*.example.com", "https://API.example.com:8443/v1").allowed
    True
    >>> check_domain(None, "https://api.example.com/").suggestions
    ('api.example.com', '*.example.com')
    """
    host = url_host(url)
    stored = validate_domain(domain) or None
    allowed = domain_allows(stored, host)
    return DomainCheck(allowed, stored, host, () if allowed else suggest_domains(host))
