"""mtlslib: the helper package of a hands-on course on TLS and mutual TLS.

Real certificates (:mod:`mtlslib.pki`) and real handshakes on 127.0.0.1 through Python's ``ssl``
(:mod:`mtlslib.loopback`), so that notebook cells stay short and show the idea, not the plumbing.
"""

from .errors import (
    CertificateLoadError,
    HandshakeTimeout,
    MtlsLibError,
    NotLoopbackError,
    ProfileError,
    PurposeError,
)
from .loopback import (
    HandshakeResult,
    LoopbackServer,
    PeerView,
    client_context,
    connect,
    handshake,
    server_context,
)
from .pki import KEY_TYPES, CertificateAuthority, IssuedCertificate, describe, load_pkcs12

__version__ = "0.1.0"

__all__ = [
    "KEY_TYPES",
    "CertificateAuthority",
    "CertificateLoadError",
    "HandshakeResult",
    "HandshakeTimeout",
    "IssuedCertificate",
    "LoopbackServer",
    "MtlsLibError",
    "NotLoopbackError",
    "PeerView",
    "ProfileError",
    "PurposeError",
    "client_context",
    "connect",
    "describe",
    "handshake",
    "load_pkcs12",
    "server_context",
]
