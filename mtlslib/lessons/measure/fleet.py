"""A fleet of client certificates, seen in real handshakes: revoking with CRLs, and short lives.

* :func:`crl_checking_context` is a mutual-TLS server context that refuses revoked clients, with
  the CRL snapshot it holds;
* :func:`issue_short_lived` issues a certificate that expires within minutes (or already has);
* :func:`try_client` connects once and reports what each side saw, as an :class:`Attempt`.
"""

from __future__ import annotations

import datetime as _dt
import ssl
from dataclasses import dataclass

from cryptography import x509

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.pki import CertificateAuthority, IssuedCertificate, Trust
from mtlslib.tls import DEFAULT_TIMEOUT, LoopbackServer, client_context, connect, error_text, load_crls, server_context

__all__ = ["Attempt", "crl_checking_context", "issue_short_lived", "try_client"]

_MESSAGE = b"hello\n"


def crl_checking_context(server_certificate: IssuedCertificate, trust: Trust, *,
                         crl: bytes | x509.CertificateRevocationList | None,
                         tls_version: str | None = "1.3") -> ssl.SSLContext:
    """A mutual-TLS server context that refuses revoked client certificates.

    ``crl`` is the CRL the server holds (PEM or an ``x509`` CRL; see :func:`mtlslib.tls.load_crls`):
    a snapshot, taken when the caller fetched it, e.g. ``ca.crl_pem``. With ``crl=None`` the server
    checks revocation but holds no CRL, and OpenSSL then refuses *every* client ("unable to get
    certificate CRL"): checking fails closed.

    ``VERIFY_CRL_CHECK_LEAF`` checks the client's own certificate, the one a fleet revokes; the
    CAs above it would need their issuers' CRLs too (``VERIFY_CRL_CHECK_CHAIN``).
    """
    ctx = server_context(server_certificate, trust=trust, mutual=True, tls_version=tls_version)
    ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
    if crl is not None:
        load_crls(ctx, crl)
    return ctx


def issue_short_lived(ca: CertificateAuthority, identity: str, *, minutes: float = 5, age_minutes: float = 0,
                      key_type: str | None = None) -> IssuedCertificate:
    """A client certificate valid for ``minutes`` from the moment it was issued, ``age_minutes``
    ago (0: now). An ``age_minutes`` larger than ``minutes`` gives the certificate as it will be
    once expired, which lets a notebook show the expiry without waiting for it."""
    if not minutes > 0 or age_minutes < 0:
        raise UsageError(f"minutes must be > 0 and age_minutes >= 0, not {minutes!r} and {age_minutes!r}")
    # One minute of grace before the start, for a verifier whose clock is a little behind the CA's.
    issued = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0) - _dt.timedelta(minutes=age_minutes)
    return ca.issue_client(identity, key_type=key_type,
                           validity=(issued - _dt.timedelta(minutes=1), issued + _dt.timedelta(minutes=minutes)))


@dataclass(frozen=True)
class Attempt(Shown):
    """One client's try at a server: accepted or not, and what each side reported."""

    client: str
    accepted: bool
    client_saw: str
    server_saw: str

    def __str__(self) -> str:
        verdict = "ACCEPTED" if self.accepted else "REFUSED "
        return f"{verdict} {self.client}\n    client saw: {self.client_saw}\n    server saw: {self.server_saw}"


def try_client(server_ctx: ssl.SSLContext, client: IssuedCertificate | None, trust: Trust, *,
               tls_version: str | None = "1.3", timeout: float = DEFAULT_TIMEOUT) -> Attempt:
    """Connect once to a server running ``server_ctx`` (on 127.0.0.1) with ``client``'s
    certificate, send one message, and report what each side saw."""
    client_ctx = client_context(trust, certificate=client, tls_version=tls_version)
    who = client.identities[0].split(":", 1)[1] if client is not None and client.identities else "no certificate"
    with LoopbackServer(server_ctx, timeout=timeout) as server:
        try:
            with connect(server.address, client_ctx, timeout=timeout) as connection:
                answer = connection.request(_MESSAGE)
            client_saw = answer.decode(errors="replace").strip() or "the server closed the connection"
            accepted = bool(answer)
        except (ssl.SSLError, OSError) as error:
            client_saw, accepted = error_text(error), False
    view = server.connections[0] if server.connections else None
    server_saw = (view.error or f"verified {view.peer_subject}") if view is not None else "no connection"
    return Attempt(who, accepted and view is not None and view.error is None, client_saw, server_saw)
