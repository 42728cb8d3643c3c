"""The scenarios' own ``ssl`` contexts, with every verification knob exposed.

:func:`mtlslib.tls.server_context` and :func:`mtlslib.tls.client_context` build contexts that are
right by default and refuse what would weaken them. The scenarios need the opposite: a server that
presents any certificate as given (no purpose check), a client that switches checks off. Showing
those misconfigurations is the point of chapter 8, so they are built here, in plain ``ssl``.
"""

from __future__ import annotations

import ssl

from mtlslib.pki import IssuedCertificate, Trust, trust_pem
from mtlslib.tls import load_crls, set_tls_version

__all__ = ["client_ctx", "server_ctx", "unverified_client_ctx"]


def _verify_against(ctx: ssl.SSLContext, trust: Trust, crls, verify_flags: int) -> None:
    """Anchors (empty: none at all), CRLs and extra flags. Not :func:`mtlslib.tls.load_trust`: it
    sets the partial-chain flag, which one scenario turns on and the others must leave off."""
    if trust:
        ctx.load_verify_locations(cadata=trust_pem(trust).decode())
    if crls:
        load_crls(ctx, crls)
    ctx.verify_flags |= verify_flags


def server_ctx(certificate: IssuedCertificate, *, client_trust: Trust = (),
               verify_mode: ssl.VerifyMode = ssl.CERT_NONE, crls=(), verify_flags: int = 0,
               security_level: int | None = None, tls_version: str | None = "1.3") -> ssl.SSLContext:
    """A server context presenting ``certificate`` exactly as given (no purpose check), verifying
    clients with ``verify_mode`` against ``client_trust`` (anything :func:`mtlslib.pki.trust_anchors`
    reads; empty: no client CA at all)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    set_tls_version(ctx, tls_version)
    if security_level is not None:
        ctx.set_ciphers(f"DEFAULT:@SECLEVEL={security_level}")
    certificate.configure_cert(ctx)
    _verify_against(ctx, client_trust, crls, verify_flags)
    ctx.verify_mode = verify_mode
    return ctx


def client_ctx(trust: Trust, *, certificate: IssuedCertificate | None = None,
               verify_mode: ssl.VerifyMode = ssl.CERT_REQUIRED, check_hostname: bool = True,
               hostname_checks_common_name: bool = True, crls=(), verify_flags: int = 0,
               tls_version: str | None = "1.3") -> ssl.SSLContext:
    """A client context trusting ``trust`` (empty: nothing at all), with every verification knob exposed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    set_tls_version(ctx, tls_version)
    _verify_against(ctx, trust, crls, verify_flags)
    ctx.hostname_checks_common_name = hostname_checks_common_name
    ctx.check_hostname = check_hostname
    ctx.verify_mode = verify_mode
    if certificate is not None:
        certificate.configure_cert(ctx)
    return ctx


def unverified_client_ctx() -> ssl.SSLContext:
    """What ``ssl._create_unverified_context()`` returns, built with the public API: a client
    context that checks neither the certificate (``CERT_NONE``) nor the host name, and trusts nothing."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
