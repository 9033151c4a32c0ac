"""The ways a request reaches the WSGI app: a loopback HTTP server and in-process transports.

:mod:`~fakeserver.transports.server` serves real HTTP on loopback;
:mod:`~fakeserver.transports.requests_adapter` and :mod:`~fakeserver.transports.httpx_route`
call the app in process for ``requests`` and httpx (respx). All share
:mod:`~fakeserver.transports.wsgi`, and none knows the backend or the app behind the WSGI call.
"""
