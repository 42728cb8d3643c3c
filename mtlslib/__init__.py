"""mtlslib: the helper package of a hands-on course on TLS and mutual TLS.

Real certificates (:mod:`mtlslib.pki`) and real handshakes on 127.0.0.1 through Python's ``ssl``
(:mod:`mtlslib.tls`), so that notebook cells stay short and show the idea, not the plumbing.

The package is built in layers; each imports only from the layers before it::

    errors, display -> pki -> wire, tls, verification -> insecure, lessons -> exercises, course, cli

Deliberately insecure teaching code lives in :mod:`mtlslib.insecure` only, and only
``insecure``, ``lessons`` and ``exercises`` import it.
"""

from mtlslib.errors import (
    AttackBoundsError,
    CertificateLoadError,
    ClientUrlError,
    DecodeError,
    DecryptError,
    ExerciseIncorrect,
    ExerciseNotDone,
    FigureError,
    HandshakeTimeout,
    InvalidPublicValue,
    MtlsLibError,
    NotLoopbackError,
    PolicyError,
    ProfileError,
    PurposeError,
    ServiceStateError,
    ToyMathError,
    UsageError,
)
from mtlslib.pki import KEY_TYPES, CertificateAuthority, IssuedCertificate, describe, load_pkcs12
from mtlslib.tls import HandshakeResult, LoopbackServer, PeerView, client_context, connect, handshake, server_context

__version__ = "0.2.0"

__all__ = [
    "KEY_TYPES",
    "AttackBoundsError",
    "CertificateAuthority",
    "CertificateLoadError",
    "ClientUrlError",
    "DecodeError",
    "DecryptError",
    "ExerciseIncorrect",
    "ExerciseNotDone",
    "FigureError",
    "HandshakeResult",
    "HandshakeTimeout",
    "InvalidPublicValue",
    "IssuedCertificate",
    "LoopbackServer",
    "MtlsLibError",
    "NotLoopbackError",
    "PeerView",
    "PolicyError",
    "ProfileError",
    "PurposeError",
    "ServiceStateError",
    "ToyMathError",
    "UsageError",
    "client_context",
    "connect",
    "describe",
    "handshake",
    "load_pkcs12",
    "server_context",
]
