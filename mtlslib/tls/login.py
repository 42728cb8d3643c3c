"""A staff login over HTTPS with a password, with and without mutual TLS: what mutual TLS is compared with.

* :class:`PasswordStore` keeps salted PBKDF2-HMAC-SHA256 hashes of the staff's passwords.
* :class:`LoginService` is the login form (``POST /login``) on 127.0.0.1, protected by the
  password alone or, with ``device_ca=``, also by mutual TLS with one device certificate per
  employee (the certificate must name the account being logged into).
* :func:`login` is an employee's browser; a refusal during the TLS handshake comes back as a
  :class:`~mtlslib.tls.Reply` carrying OpenSSL's reason, not as an exception.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import parse_qs

from mtlslib.errors import UsageError
from mtlslib.pki import CertificateAuthority, IssuedCertificate, Trust

from .contexts import client_context
from .http import Reply, https_request
from .https import HttpsService, Request, Response
from .lifecycle import RunsOn
from .net import DEFAULT_TIMEOUT

__all__ = ["PBKDF2_ITERATIONS", "LoginRecord", "LoginService", "PasswordStore", "login"]


# A real service would use far more (OWASP suggests 600,000 for PBKDF2-HMAC-SHA256); fewer keep
# the notebook quick, and nothing here depends on it: the attacker already has the password.
PBKDF2_ITERATIONS = 20_000


class PasswordStore:
    """Salted PBKDF2-HMAC-SHA256 hashes of the staff's passwords; the passwords are not kept."""

    def __init__(self, passwords: Mapping[str, str], *, iterations: int = PBKDF2_ITERATIONS):
        if not passwords:
            raise UsageError("passwords is empty: give at least one username and password")
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


class LoginService(RunsOn):
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
        self.inner = HttpsService(certificate, trust=device_ca, mutual=device_ca is not None,
                                  handler=self._handle, timeout=timeout)

    @property
    def mutual(self) -> bool:
        return self.device_ca is not None

    @property
    def hostname(self) -> str:
        """The first DNS name in the server certificate: the name clients ask for."""
        names = [n.split(":", 1)[1] for n in self.certificate.identities if n.startswith("DNS:")]
        return names[0] if names else "localhost"

    def _handle(self, request: Request) -> Response:
        if request.path.split("?", 1)[0] != "/login":
            return Response(404, "nothing here; the login form is POST /login\n")
        if request.method != "POST":
            return Response(405, "log in with POST /login\n", headers=(("Allow", "POST"),))
        form = parse_qs(request.body.decode(errors="replace"))
        username, password = form.get("username", [""])[0], form.get("password", [""])[0]
        # The device certificate says whose laptop this is, by the email address in its subjectAltName:
        # someone else's account is refused before the password is even looked at.
        emails = request.client.emails if request.client is not None else ()
        device = emails[0] if emails else None
        if self.mutual and username not in emails:
            owner = device or "nobody (its certificate names no email address)"
            return self._answer(username, device, 403, f"this device belongs to {owner}, not to {username}")
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


def login(service: LoginService, username: str, password: str, *, trust: Trust,
          certificate: IssuedCertificate | None = None, timeout: float = DEFAULT_TIMEOUT) -> Reply:
    """Log in as an employee's browser would: check the server against ``trust``, present
    ``certificate`` (the device's) if given, post the form."""
    context = client_context(trust, certificate=certificate)
    return https_request(service.address, context, method="POST", path="/login",
                         form={"username": username, "password": password}, hostname=service.hostname,
                         timeout=timeout)
