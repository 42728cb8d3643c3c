"""``ssl.SSLContext`` objects whose names say which side they are for.

(``ssl.Purpose.CLIENT_AUTH`` famously means "for a server".) Also the course's one vocabulary
for TLS versions, the purpose check on certificates, and loading trust and CRLs into a context.
"""

from __future__ import annotations

import ssl
from typing import Iterable, Union

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from mtlslib.errors import CertificateLoadError, PurposeError, UsageError
from mtlslib.pki import IssuedCertificate, SslFiles, Trust, extension, trust_pem

__all__ = ["TLS_VERSIONS", "TlsVersion", "client_context", "load_crls", "load_trust", "pin_build_differences",
           "require_purpose", "server_context", "set_tls_version", "tls_version_name"]

TLS_VERSIONS = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
"""The versions the course speaks, by the names it uses for them everywhere: ``"1.2"``, ``"1.3"``."""

TlsVersion = Union[str, ssl.TLSVersion]


def tls_version_name(version: TlsVersion) -> str:
    """``"1.2"`` or ``"1.3"`` for any way of saying it: ``"1.3"``, ``"TLSv1.3"`` (what
    ``SSLSocket.version()`` says), ``"TLS 1.3"`` or ``ssl.TLSVersion.TLSv1_3``.

    :class:`~mtlslib.errors.UsageError` names anything else and lists what is accepted.
    """
    for name, member in TLS_VERSIONS.items():
        if version is member:
            return name
    if isinstance(version, str) and not isinstance(version, ssl.TLSVersion):
        text = version.strip()
        for prefix in ("TLSv", "TLS ", "TLS"):
            if text.startswith(prefix):
                text = text[len(prefix):]
                break
        if text in TLS_VERSIONS:
            return text
    raise UsageError(f"tls_version {version!r} is not one the course uses; give '1.2' or '1.3' "
                     "(also accepted: 'TLSv1.2', 'TLSv1.3', ssl.TLSVersion.TLSv1_2 or TLSv1_3)")


def set_tls_version(ctx: ssl.SSLContext, version: TlsVersion | None) -> None:
    """Pin ``ctx`` to one TLS version (``None``: leave both 1.2 and 1.3 allowed)."""
    if version is not None:
        ctx.minimum_version = ctx.maximum_version = TLS_VERSIONS[tls_version_name(version)]


# CPython's own default TLS 1.2 cipher string (PY_SSL_DEFAULT_CIPHER_STRING in Modules/_ssl.c). A Python
# built with --with-ssl-default-suites=openssl, as Debian's 3.13 is, offers OpenSSL's longer list instead.
PYTHON_DEFAULT_CIPHERS = "@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
# OpenSSL 3.2+ options (ssl.h: SSL_OP_NO_TX/RX_CERTIFICATE_COMPRESSION); Python names neither.
_NO_CERTIFICATE_COMPRESSION = (1 << 32) | (1 << 33)
_COMPRESSION_OPTIONS_KNOWN = ssl.OPENSSL_VERSION_INFO >= (3, 2)


def pin_build_differences(ctx: ssl.SSLContext) -> None:
    """Make ``ctx`` (its TLS version already set) show the same handshake on every OpenSSL the course
    supports (3.0 to 3.6), where their defaults differ; what a newer build offers stays visible.

    * A TLS 1.3 server picks X25519. OpenSSL 3.5+ prefers the post-quantum hybrid X25519MLKEM768
      (its ServerHello is then about 1.1 KB bigger); its client still offers the hybrid's key
      share beside X25519's, which the chapters show. Python 3.13 can only restrict a context to
      one group (``set_ecdh_curve``), and every client the course runs offers X25519. A server that
      allows TLS 1.2 is left alone: there the same list also limits the curve of an ECDSA peer
      certificate, and OpenSSL would refuse a P-256 one ("wrong curve").
    * TLS 1.2 cipher suites: CPython's default list (:data:`PYTHON_DEFAULT_CIPHERS`), whatever the
      Python was built with. TLS 1.3's three suites are OpenSSL's and the same everywhere.
    * Neither side compresses certificates (RFC 8879, OpenSSL 3.2+ built with zlib, brotli or zstd):
      the chapters measure, copy and verify the Certificate message itself, byte for byte.
      :mod:`mtlslib.wire` decodes a CompressedCertificate when another program sends one.
    """
    ctx.set_ciphers(PYTHON_DEFAULT_CIPHERS)
    if ctx.protocol == ssl.PROTOCOL_TLS_SERVER and ctx.minimum_version == ssl.TLSVersion.TLSv1_3:
        ctx.set_ecdh_curve("X25519")
    if _COMPRESSION_OPTIONS_KNOWN:
        ctx.options |= _NO_CERTIFICATE_COMPRESSION


def load_trust(ctx: ssl.SSLContext, trust: Trust) -> None:
    """Make the anchors of ``trust`` (see :func:`mtlslib.pki.trust_anchors`) the ones ``ctx``
    verifies against. Every anchor ends a path, intermediate CAs included: OpenSSL's partial-chain
    flag is set, as in Python 3.13's default context."""
    ctx.load_verify_locations(cadata=trust_pem(trust).decode("ascii"))
    ctx.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN


def load_crls(ctx: ssl.SSLContext, crls: Union[bytes, x509.CertificateRevocationList,
                                               Iterable[Union[bytes, x509.CertificateRevocationList]]]) -> None:
    """Give ``ctx`` certificate revocation lists: PEM bytes (``ca.crl_pem``), ``x509`` CRL objects,
    or a list of these. ``ssl`` loads CRLs only from a file, so they pass through a private
    temporary one. Checking them is a separate switch (``ctx.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF``)."""
    items = [crls] if isinstance(crls, (bytes, x509.CertificateRevocationList)) else list(crls)
    pem = b""
    for item in items:
        if isinstance(item, x509.CertificateRevocationList):
            pem += item.public_bytes(Encoding.PEM)
        elif isinstance(item, bytes) and b"-----BEGIN X509 CRL-----" in item:
            pem += item
        else:
            raise UsageError(f"a CRL must be PEM bytes (ca.crl_pem) or an x509.CertificateRevocationList, "
                             f"not {type(item).__name__}")
    if not pem:
        raise UsageError("no CRL given: pass ca.crl_pem, ca.crl or a list of them")
    with SslFiles(**{"crls.pem": pem}) as paths:
        try:
            ctx.load_verify_locations(cafile=paths["crls.pem"])
        except ssl.SSLError as error:
            raise CertificateLoadError(f"OpenSSL could not load the CRL: {error}") from None


def require_purpose(certificate: IssuedCertificate, role: str) -> None:
    """:class:`PurposeError` if ``certificate``'s extended key usage does not allow ``role``
    (``"server"`` or ``"client"``)."""
    usage = ExtendedKeyUsageOID.SERVER_AUTH if role == "server" else ExtendedKeyUsageOID.CLIENT_AUTH
    other = "client" if role == "server" else "server"
    eku = extension(certificate.certificate, x509.ExtendedKeyUsage)
    if eku is not None and usage not in eku:
        raise PurposeError(
            f"{certificate.certificate.subject.rfc4514_string()} is not a {role} certificate (its extended key "
            f"usage lacks {'serverAuth' if role == 'server' else 'clientAuth'}); issue one with "
            f"ca.issue_{role}(...), or pass check_purpose=False to present it anyway and watch the {other} refuse it"
        )


def server_context(certificate: IssuedCertificate, *, trust: Trust | None = None, mutual: bool = False,
                   tls_version: TlsVersion | None = None, check_purpose: bool = True,
                   openssl_defaults: bool = False) -> ssl.SSLContext:
    """A context for the *server* side: presents ``certificate``; with ``mutual=True`` it requires a
    client certificate that chains to an anchor of ``trust``. ``openssl_defaults=True`` leaves
    what :func:`pin_build_differences` pins as this Python's OpenSSL sets it."""
    if check_purpose:
        require_purpose(certificate, "server")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    set_tls_version(ctx, tls_version)
    if not openssl_defaults:
        pin_build_differences(ctx)
    certificate.configure_cert(ctx)
    if mutual:
        if trust is None:
            raise UsageError("a mutual-TLS server needs trust=: the CA whose client certificates it accepts")
        load_trust(ctx, trust)
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def client_context(trust: Trust, *, certificate: IssuedCertificate | None = None,
                   tls_version: TlsVersion | None = None, check_purpose: bool = True,
                   openssl_defaults: bool = False) -> ssl.SSLContext:
    """A context for the *client* side: verifies the server against ``trust`` (certificate chain and
    host name, matched against the subjectAltName only); presents ``certificate`` when the server
    asks for one. ``openssl_defaults`` as for :func:`server_context`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname by default
    # Without this, OpenSSL matches the common name of a certificate that has no subjectAltName.
    # RFC 6125 (6.4.4) allowed that only as a last resort, RFC 9525 forbids it, browsers refuse it.
    ctx.hostname_checks_common_name = False
    set_tls_version(ctx, tls_version)
    if not openssl_defaults:
        pin_build_differences(ctx)
    load_trust(ctx, trust)
    if certificate is not None:
        if check_purpose:
            require_purpose(certificate, "client")
        certificate.configure_cert(ctx)
    return ctx
