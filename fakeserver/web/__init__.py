"""The WSGI app around the backend: routes, requests read once, JSON answers, and middleware.

:class:`~fakeserver.web.app.SecretsApp` parses a request, calls one backend operation and
encodes its result; :mod:`~fakeserver.web.faults` and :mod:`~fakeserver.web.journal` wrap it
to inject faults and to record what was asked and answered.
"""
