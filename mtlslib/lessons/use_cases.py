"""Mutual TLS at work, on 127.0.0.1: two organisations that trust each other's CA, and a login
service with and without client certificates.

* :class:`Organisation` -- a company with its own root CA, an API server certificate and
  workload (client) certificates; :meth:`Organisation.partner_service` is an HTTPS service that
  accepts only a partner's client certificates, :meth:`Organisation.call` calls one.
* :class:`PasswordStore` and :class:`LoginService` -- a login form (``POST /login``) that checks
  salted password hashes, protected by the password alone or, with ``device_ca=``, also by mutual
  TLS with one device certificate per employee.
* :func:`https_request` and :func:`login` -- the client side; a refusal during the TLS handshake
  comes back as a :class:`Reply` carrying OpenSSL's reason, not as an exception.

Nothing here attacks anything; the credential-stuffing bot lives in
:mod:`mtlslib.insecure.credential_stuffing`.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from functools import cached_property
from typing import Callable, Mapping
from urllib.parse import parse_qs, urlencode

from mtlslib.errors import ProfileError
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    HttpsService,
    Request,
    Response,
    client_context,
    error_text,
    loopback_address,
)

__all__ = ["https_request", "login", "LoginRecord", "LoginService", "Organisation", "PasswordStore", "Reply"]


# --------------------------------------------------------------------------------------------
# The client side


@dataclass(frozen=True)
class Reply:
    """What a client got: an HTTP status and text, or the reason TLS refused the connection."""

    status: int | None
    text: str = ""
    refused: str | None = None
    """Why the connection ended before any HTTP answer (``None`` if there was one): OpenSSL's
    reason when TLS refused it."""
    by_tls: bool = True
    """Whether ``refused`` came from TLS (an alert, a failed check) rather than from TCP."""

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def outcome(self) -> str:
        if self.refused is not None:
            return f"{'refused during the TLS handshake' if self.by_tls else 'no HTTP answer'}: {self.refused}"
        first_line = self.text.strip().splitlines()[0] if self.text.strip() else ""
        return f"HTTP {self.status}: {first_line}"

    def __str__(self) -> str:
        return self.outcome


def https_request(address: tuple[str, int], context: ssl.SSLContext, *, method: str = "GET", path: str = "/",
                  form: Mapping[str, str] | None = None, hostname: str = "localhost",
                  timeout: float = DEFAULT_TIMEOUT) -> Reply:
    """One HTTPS request on a new connection to a loopback ``address``; ``hostname`` is the name
    the client asks for (SNI) and checks in the server's certificate, as a browser does with the
    name in the URL. ``form`` is sent URL-encoded, as an HTML form would.

    Raises :class:`~mtlslib.errors.NotLoopbackError` for any address outside 127.0.0.0/8 or ::1.
    """
    host, port = loopback_address(address[0]), address[1]
    body = urlencode(form).encode() if form is not None else None
    headers = {"Host": hostname}
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        # Wrapped here rather than by HTTPSConnection, which would check the certificate against
        # the address dialled (127.0.0.1) instead of the service's name.
        connection.sock = context.wrap_socket(sock, server_hostname=hostname)
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.read().decode(errors="replace"))
    except ssl.SSLError as error:
        return Reply(None, refused=error_text(error))
    except (ConnectionError, TimeoutError) as error:  # the peer hung up or went silent
        return Reply(None, refused=error_text(error), by_tls=False)
    finally:
        sock.close()
        connection.close()


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

    def partner_service(self, partner: "Organisation", *, handler: Callable[[Request], Response] | None = None,
                        log: Callable[[str], None] | None = None, timeout: float = DEFAULT_TIMEOUT) -> HttpsService:
        """This organisation's API for ``partner``: mutual TLS that trusts *only* the partner's CA
        for client certificates (start it with ``with``). ``log`` receives the server's side of
        every refusal and request."""
        return HttpsService(self.server_certificate, trust=partner.ca, mutual=True,
                            handler=handler or self._order_desk, log=log, timeout=timeout)

    def _order_desk(self, request: Request) -> Response:
        # Only a client certificate from the partner's CA gets this far: the trust store decided.
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


# --------------------------------------------------------------------------------------------
# A login service


# A real service would use far more (OWASP suggests 600,000 for PBKDF2-HMAC-SHA256); fewer keep
# the notebook quick, and nothing here depends on it: the attacker already has the password.
PBKDF2_ITERATIONS = 20_000


class PasswordStore:
    """Salted PBKDF2-HMAC-SHA256 hashes of the staff's passwords; the passwords are not kept."""

    def __init__(self, passwords: Mapping[str, str], *, iterations: int = PBKDF2_ITERATIONS):
        if not passwords:
            raise ProfileError("passwords is empty: give at least one username and password")
        self.iterations = iterations
        self._hashes = {}
        for username, password in passwords.items():
            salt = os.urandom(16)
            self._hashes[username] = (salt, self._hash(password, salt))
        # Unknown users cost one hash too, so that the answer's timing does not say who exists.
        self._decoy_salt = os.urandom(16)

    def _hash(self, password: str, salt: bytes) -> bytes:
        return hashlib.pbkdf2_hmac("sha256", password.encode(), salt, self.iterations)

    def check(self, username: str, password: str) -> bool:
        salt, expected = self._hashes.get(username, (self._decoy_salt, b""))
        return hmac.compare_digest(self._hash(password, salt), expected) and username in self._hashes

    @property
    def usernames(self) -> tuple[str, ...]:
        return tuple(self._hashes)


@dataclass(frozen=True)
class LoginRecord:
    """One login attempt that reached the login handler."""

    username: str
    device: str | None
    """The verified client certificate's identity (``None`` without mutual TLS)."""
    outcome: str


class LoginService:
    """The staff login (``POST /login`` with ``username`` and ``password``) over HTTPS on 127.0.0.1.

    Without ``device_ca`` anybody may try a password. With ``device_ca``, the service runs mutual
    TLS: only a device holding a certificate from that CA (and its private key) reaches the login
    form at all, and the certificate must name the account being logged into.
    :attr:`records` lists every attempt that reached the login handler.
    """

    def __init__(self, certificate: IssuedCertificate, passwords: PasswordStore | Mapping[str, str], *,
                 device_ca: CertificateAuthority | None = None, timeout: float = DEFAULT_TIMEOUT):
        self.passwords = passwords if isinstance(passwords, PasswordStore) else PasswordStore(passwords)
        self.device_ca = device_ca
        self.certificate = certificate
        self.records: list[LoginRecord] = []
        self._lock = threading.Lock()
        self.service = HttpsService(certificate, trust=device_ca, mutual=device_ca is not None,
                                    handler=self._handle, timeout=timeout)

    @property
    def mutual(self) -> bool:
        return self.device_ca is not None

    @property
    def hostname(self) -> str:
        """The first DNS name in the server certificate: the name clients ask for."""
        names = [n.split(":", 1)[1] for n in self.certificate.identities if n.startswith("DNS:")]
        return names[0] if names else "localhost"

    @property
    def address(self) -> tuple[str, int]:
        return self.service.address

    def start(self) -> "LoginService":
        self.service.start()
        return self

    def stop(self) -> None:
        self.service.stop()

    def __enter__(self) -> "LoginService":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _handle(self, request: Request) -> Response:
        if request.path.split("?", 1)[0] != "/login":
            return Response(404, "nothing here; the login form is POST /login\n")
        if request.method != "POST":
            return Response(405, "log in with POST /login\n", headers=(("Allow", "POST"),))
        form = parse_qs(request.body.decode(errors="replace"))
        username, password = form.get("username", [""])[0], form.get("password", [""])[0]
        device = request.client.name if request.client is not None else None
        if self.mutual and device != username:
            # The device certificate says whose laptop this is: someone else's account is refused
            # before the password is even looked at.
            return self._answer(username, device, 403, f"this device belongs to {device}, not to {username}")
        if not self.passwords.check(username, password):
            return self._answer(username, device, 401, "wrong username or password")
        return self._answer(username, device, 200, f"welcome {username}")

    def _answer(self, username: str, device: str | None, status: int, message: str) -> Response:
        with self._lock:
            self.records.append(LoginRecord(username, device, message))
        return Response(status, message + "\n")

    def __repr__(self) -> str:
        protection = "password + mutual TLS" if self.mutual else "password only"
        return f"<LoginService {self.hostname} ({protection})>"


def login(service: LoginService, username: str, password: str, *, trust: CertificateAuthority,
          certificate: IssuedCertificate | None = None, timeout: float = DEFAULT_TIMEOUT) -> Reply:
    """Log in as an employee's browser would: check the server against ``trust``, present
    ``certificate`` (the device's) if given, post the form."""
    context = client_context(trust, certificate=certificate)
    return https_request(service.address, context, method="POST", path="/login",
                         form={"username": username, "password": password}, hostname=service.hostname,
                         timeout=timeout)
