"""The fake's state and rules: universes, keys, credentials, secrets, rate limits, game servers.

Nothing here knows HTTP, WSGI or a transport: :mod:`fakeserver.web` parses requests and calls
one operation of :class:`~fakeserver.backend.state.SecretsBackend`, which authorizes itself and
raises the typed errors of :mod:`fakeserver.errors`.
"""
