"""Real TLS on 127.0.0.1: contexts, the loopback handshake and server, capture, the HTTPS service,
authorization and real clients.

- :mod:`.net`: loopback-only sockets, closing a TLS connection politely;
- :mod:`.contexts`: server and client contexts, the TLS version vocabulary ("1.2", "1.3"), trust and CRLs;
- :mod:`.observe`: OpenSSL's message callback (alerts, the key-exchange group, every message);
- :mod:`.results`: what each side saw (:class:`PeerView`, :class:`HandshakeResult`);
- :mod:`.server`: the one accept loop, :class:`LoopbackServer`, :func:`connect`;
- :mod:`.handshake`: :class:`ConnectionSpec`, :func:`handshake`, :func:`run_between`;
- :mod:`.capture`: :func:`capture_handshake`, every byte and OpenSSL's view of it;
- :mod:`.https`, :mod:`.http`, :mod:`.login`: the HTTPS service, one request and its response,
  a password login; :mod:`.authorization`: from a verified certificate to a decision;
- :mod:`.clients`: curl, openssl s_client and Python's own clients.
"""

# The one meaning of a ``trust`` argument is mtlslib.pki.Trust; it stays importable from here.
from mtlslib.pki import Trust

from .authorization import AccessPolicy, Decision, PolicyError, Rule, authorizing_handler, spiffe_id_of
from .capture import HandshakeTrace, OpenSSLEvent, capture_handshake
from .clients import ClientRun, ClientUrlError, curl, https_get, openssl_s_client, python_http_client, python_urllib
from .contexts import (
    TLS_VERSIONS,
    TlsVersion,
    client_context,
    load_crls,
    load_trust,
    require_purpose,
    server_context,
    set_tls_version,
    tls_version_name,
)
from .handshake import ConnectionSpec, handshake, negotiated_version, run_between, serve_once
from .http import HttpResponse, Reply, https_request, parse_response
from .https import ClientIdentity, Handler, HttpsService, Request, Response, whoami
from .lifecycle import RunsOn, Service
from .login import LoginRecord, LoginService, PasswordStore, login
from .net import (
    DEFAULT_TIMEOUT,
    close_connection,
    dial,
    drain_before_close,
    listen,
    loopback_address,
    no_delay,
    wake_accept,
)
from .observe import MessageTap, Observer
from .results import HandshakeResult, PeerView, error_text, peer_certificate, peer_view
from .server import AcceptLoop, Connection, LoopbackServer, TrackedConnection, connect, reply_with_identity, serve_tls

__all__ = [
    "DEFAULT_TIMEOUT", "TLS_VERSIONS", "AcceptLoop", "AccessPolicy", "ClientIdentity", "ClientRun", "ClientUrlError",
    "Connection", "ConnectionSpec", "Decision", "Handler", "HandshakeResult", "HandshakeTrace", "HttpResponse",
    "HttpsService", "LoginRecord", "LoginService", "LoopbackServer", "MessageTap", "Observer", "OpenSSLEvent",
    "PasswordStore", "PeerView", "PolicyError", "Reply", "Request", "Response", "Rule", "RunsOn", "TlsVersion",
    "Service", "TrackedConnection", "Trust", "authorizing_handler", "capture_handshake", "client_context",
    "close_connection",
    "connect", "curl", "dial", "drain_before_close", "error_text", "handshake", "https_get", "https_request",
    "listen", "load_crls", "load_trust", "login", "loopback_address", "negotiated_version", "no_delay",
    "openssl_s_client", "parse_response", "peer_certificate", "peer_view", "python_http_client", "python_urllib",
    "reply_with_identity", "require_purpose", "run_between", "serve_once", "serve_tls", "server_context",
    "set_tls_version", "spiffe_id_of", "tls_version_name", "wake_accept", "whoami",
]
