"""One connection to a LoopbackServer, and OpenSSL's X.509 strict mode: what several test files need."""

from __future__ import annotations

import ssl

from mtlslib.tls import LoopbackServer, connect


def strict(ctx: ssl.SSLContext) -> ssl.SSLContext:
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def round_trip(server_ctx: ssl.SSLContext, client_ctx: ssl.SSLContext):
    """One connection to a LoopbackServer: the client's reply (or the exception it got) and what
    the server saw."""
    with LoopbackServer(server_ctx) as server:
        try:
            with connect(server.address, client_ctx) as connection:
                outcome = connection.request()
        except (ssl.SSLError, ConnectionError) as error:
            outcome = error
    assert len(server.connections) == 1
    return outcome, server.connections[0]
