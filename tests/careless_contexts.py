"""The client mistake several attack tests stage: a context that trusts the right CA and then
switches off part of the check."""

from __future__ import annotations

import ssl

from mtlslib.tls import client_context


def careless(ca, *, verify: bool = True, hostname: bool = True) -> ssl.SSLContext:
    """A client context for ``ca`` with the host name check (``hostname=False``) or every check
    (``verify=False``) switched off."""
    context = client_context(ca)
    if not hostname or not verify:
        context.check_hostname = False
    if not verify:
        context.verify_mode = ssl.CERT_NONE
    return context
