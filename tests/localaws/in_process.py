"""Hand a test's setup calls to moto's app in this process instead of over a socket.

Every test arranges its world first (a VPC built the way the guidance says, then the one
piece it breaks) and about half of the suite's AWS calls are that arrangement. Those calls
are not what a test asserts on, and over HTTP each one costs a connection's worth of work
on both sides: urllib3 and http.client in the test, cheroot in the server. `WsgiSender` is
a botocore `before-send` handler that gives the signed request to the same WSGI app the
server runs (moto's DomainDispatcherApplication, the same backends) and returns its answer
as botocore's response, as werkzeug's test client does: the request is still built,
signed and serialised, and the answer parsed, by botocore.

Only the test fixtures' builders use it (tests/conftest.py: `builder` and the organization
tests' `org`). vpcguard's own clients, the
code under test, always go over real HTTP to the server on 127.0.0.1; so do the demo and
the benchmark.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from werkzeug.test import EnvironBuilder, run_wsgi_app

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _RawBody(io.BytesIO):
    """What botocore reads a response body from (urllib3's HTTPResponse in production)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        data = self.read()
        if data:
            yield data


class WsgiSender:
    """A botocore `before-send` handler: returning a response ends the send there."""

    def __init__(self, app: WsgiApp):
        self.app = app

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        url = urlsplit(request.url)
        environ = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method,
            headers=[(name, _text(value)) for name, value in request.headers.items()],
            data=_bytes(request.body),
        ).get_environ()
        app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        try:
            body = b"".join(app_iter)
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()
        response_headers = HTTPHeaders()
        for name, value in headers.items():
            response_headers[name] = value
        return AWSResponse(request.url, int(status.split(" ", 1)[0]), response_headers, _RawBody(body))


def _text(value: str | bytes) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _bytes(body: Any) -> bytes:
    """The request body as botocore would write it to the socket."""
    if body is None:
        return b""
    if isinstance(body, str):
        return body.encode("utf-8")
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "read"):
        return body.read()
    return b"".join(body)  # an iterable of chunks
