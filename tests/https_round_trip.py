"""One request to an HttpsService over http.client, and a handler that records what it was sent:
what several test files need."""

from __future__ import annotations

import http.client
import ssl
from typing import NamedTuple

from mtlslib.tls import HttpsService, Request, Response


class Reply(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    text: str


def fetch(service: HttpsService, context: ssl.SSLContext, method="GET", path="/", body=None, headers=None) -> Reply:
    host, port = service.address
    conn = http.client.HTTPSConnection(host, port, context=context, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return Reply(response.status, response.headers, response.read().decode())
    finally:
        conn.close()


def recording(handler=None):
    """A handler that keeps every request it saw (and answers like ``handler``, default 200 "ok")."""
    seen: list[Request] = []

    def handle(request: Request) -> Response:
        seen.append(request)
        return handler(request) if handler else Response(200, "ok")

    return handle, seen
