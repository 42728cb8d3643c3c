"""Mutual TLS at work, on 127.0.0.1: two organisations that trust each other's CA, and a login
service with and without client certificates.

* :class:`Organisation` -- a company with its own root CA, an API server certificate and
  workload (client) certificates; :meth:`Organisation.partner_service` is an HTTPS service that
  accepts only a partner's client certificates (and, given the partner's CRL, none it revoked),
  :meth:`Organisation.call` calls one; :meth:`Organisation.revoke` and
  :meth:`Organisation.published_crl` are the partner's side of revocation.
* :class:`PasswordStore` and :class:`LoginService` (from :mod:`mtlslib.tls`) -- a login form (``POST /login``)
  that checks salted password hashes, protected by the password alone or, with ``device_ca=``, also by mutual
  TLS with one device certificate per employee.
* :func:`https_request` and :func:`login` -- the client side; a refusal during the TLS handshake
  comes back as a :class:`Reply` carrying OpenSSL's reason, not as an exception.

Nothing here attacks anything; the credential-stuffing bot lives in
:mod:`mtlslib.insecure.credential_stuffing`.
"""

from __future__ import annotations

import datetime as _dt
import ssl
from functools import cached_property
from typing import Callable, Union

from cryptography import x509

from mtlslib.errors import ProfileError
from mtlslib.pki import CertificateAuthority, IssuedCertificate, sign
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    HttpsService,
    LoginRecord,
    LoginService,
    PasswordStore,
    Reply,
    Request,
    Response,
    client_context,
    https_request,
    load_crls,
    login,
)

__all__ = ["https_request", "login", "LoginRecord", "LoginService", "Organisation", "PasswordStore", "Reply"]


# --------------------------------------------------------------------------------------------
# Business to business


class Organisation:
    """A company with its own root CA, an API (``api.<domain>``) and workloads that call partners.

    Partners exchange nothing secret: each gives the other its root CA *certificate*, and each
    keeps its private keys at home.
    """

    def __init__(self, name: str, domain: str, ca: CertificateAuthority):
        self.name = name
        self.domain = domain
        self.ca = ca
        self._workloads: dict[str, IssuedCertificate] = {}

    @classmethod
    def create(cls, name: str, domain: str, *, seed: str | None = None, key_type: str = "ecdsa-p256") -> "Organisation":
        """A new organisation; with a ``seed`` its CA and every certificate are the same on every run."""
        if not domain or "." not in domain:
            raise ProfileError(f"domain must be a DNS domain such as 'acme.test', not {domain!r}")
        ca = CertificateAuthority.create(f"{name} Root CA", seed=seed, key_type=key_type, organization=name)
        return cls(name, domain, ca)

    @property
    def hostname(self) -> str:
        return f"api.{self.domain}"

    @cached_property
    def server_certificate(self) -> IssuedCertificate:
        return self.ca.issue_server(self.hostname)

    def workload(self, name: str) -> IssuedCertificate:
        """The client certificate of one of this organisation's programs, identified by a SPIFFE-style
        URI, ``spiffe://<domain>/<name>`` (issued once, then reused)."""
        if name not in self._workloads:
            self._workloads[name] = self.ca.issue_client(f"spiffe://{self.domain}/{name}")
        return self._workloads[name]

    def revoke(self, workload: str) -> None:
        """Revoke the certificate of one of this organisation's programs (its key has leaked): its
        serial number goes on this organisation's CRL. Partners learn of it only from that CRL."""
        self.ca.revoke(self.workload(workload), x509.ReasonFlags.key_compromise)

    def published_crl(self, *, valid: tuple[_dt.datetime, _dt.datetime] | None = None
                      ) -> x509.CertificateRevocationList:
        """The CRL this organisation publishes for its partners: every workload certificate revoked
        so far, signed by its CA, so it may travel over any channel. ``valid`` (thisUpdate,
        nextUpdate) re-dates it, e.g. as the copy a partner fetched and then never refreshed."""
        current = self.ca.crl
        if valid is None:
            return current
        this_update, next_update = valid
        builder = (x509.CertificateRevocationListBuilder().issuer_name(current.issuer)
                   .last_update(this_update).next_update(next_update))
        for extension in current.extensions:
            builder = builder.add_extension(extension.value, extension.critical)
        for entry in current:
            builder = builder.add_revoked_certificate(entry)
        return sign(builder, self.ca.private_key, deterministic=True)

    def partner_service(self, partner: "Organisation", *,
                        crl: Union[bytes, x509.CertificateRevocationList, None] = None,
                        handler: Callable[[Request], Response] | None = None,
                        log: Callable[[str], None] | None = None, timeout: float = DEFAULT_TIMEOUT) -> HttpsService:
        """This organisation's API for ``partner``: mutual TLS that trusts *only* the partner's CA
        for client certificates (start it with ``with``). ``log`` receives the server's side of
        every refusal and request.

        Without ``crl`` the API checks no revocation at all: a certificate the partner revoked still
        gets in. With the partner's CRL (:meth:`published_crl`, or its PEM), OpenSSL checks every
        client certificate against it (``VERIFY_CRL_CHECK_LEAF``): a revoked one is refused
        ("certificate revoked"), and once the CRL's nextUpdate has passed, every one ("CRL has
        expired"). The CRL is a snapshot: to learn of later revocations, start the API again with
        a fresh one."""
        service = HttpsService(self.server_certificate, trust=partner.ca, mutual=True,
                               handler=handler or self.order_desk, log=log, timeout=timeout)
        if crl is not None:
            load_crls(service.context, crl)
            service.context.verify_flags |= ssl.VERIFY_CRL_CHECK_LEAF
        return service

    def order_desk(self, request: Request) -> Response:
        """The API's application: it greets the verified client (the handshake already kept out
        everyone the partner's CA did not certify)."""
        return Response(200, f"{self.name} order desk: hello {request.client.name}, "
                             f"certificate issued by {request.client.issuer}\n")

    def call(self, service: HttpsService, owner: "Organisation", *, workload: str | None = None,
             path: str = "/orders", timeout: float = DEFAULT_TIMEOUT) -> Reply:
        """Call ``owner``'s ``service`` from this organisation, presenting the certificate of
        ``workload`` (``None``: no client certificate). The server is checked against ``owner``'s
        CA and host name, as it would be across the Internet."""
        certificate = self.workload(workload) if workload is not None else None
        context = client_context(owner.ca, certificate=certificate)
        return https_request(service.address, context, path=path, hostname=owner.hostname, timeout=timeout)

    def __repr__(self) -> str:
        return f"<Organisation {self.name} ({self.domain})>"
