"""Checkers for chapter 06, TLS or mutual TLS: predict the bytes a client's certificate chain adds.

The checker captures real TLS 1.3 handshakes on 127.0.0.1, hands the reader's function the
certificates each client really sent, and compares the prediction with the size of the client's
Certificate message as it was decrypted from the capture.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Callable, Sequence

from cryptography import x509

from mtlslib.exercises import attempt, expect, well_done
from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import capture_handshake

__all__ = ["check_certificate_message_size", "measured_client_certificate"]


def measured_client_certificate(server: IssuedCertificate, client: IssuedCertificate, *,
                                client_trust: CertificateAuthority,
                                server_trust: CertificateAuthority) -> tuple[tuple[x509.Certificate, ...], int]:
    """The certificates a client sent in a real mutual TLS 1.3 handshake, leaf first, and the size
    in bytes of the Certificate message that carried them (its 4-byte handshake header included)."""
    trace = capture_handshake(server, client, client_trust=client_trust, server_trust=server_trust,
                              tls_version="1.3", tickets=False)
    message = trace.conversation.find("Certificate", "client")
    return message.payload.parsed(), message.size


@lru_cache(maxsize=1)
def _cases() -> list[tuple[str, tuple[x509.Certificate, ...], int]]:
    """Chains of one, two and three certificates, three key types, each measured once."""
    server_ca = CertificateAuthority.create("Exercise Server CA", seed="exercises-06")
    client_ca = CertificateAuthority.create("Exercise Client CA", seed="exercises-06")
    issuing = client_ca.create_intermediate("Exercise Issuing CA", key_type="ed25519")
    team = issuing.create_intermediate("Exercise Team CA", key_type="ecdsa-p384")
    server = server_ca.issue_server("localhost")
    clients = {
        # Issued by the root itself, which the client does not trust (it trusts the server CA), so
        # OpenSSL has no chain to complete: the leaf travels alone.
        "a leaf alone": client_ca.issue_client("alone@example.test"),
        "a leaf and its issuing CA": issuing.issue_client("pair@example.test"),
        # Three key types, so that each certificate in the chain has its own size: an ECDSA P-256 leaf, under an
        # ECDSA P-384 CA, under an Ed25519 CA.
        "a leaf and two CAs": team.issue_client("trio@example.test", key_type="ecdsa-p256"),
    }
    return [(label, *measured_client_certificate(server, client, client_trust=server_ca, server_trust=client_ca))
            for label, client in clients.items()]


def check_certificate_message_size(predict: Callable[[Sequence[x509.Certificate]], int]) -> None:
    """``predict(chain)`` must return the size in bytes of the TLS 1.3 Certificate message that
    carries ``chain`` (leaf first, exactly the certificates sent), its handshake header included."""
    name = getattr(predict, "__name__", "predict")
    gaps = {}
    for label, sent, size in _cases():
        prediction = attempt(predict, list(sent))
        expect(isinstance(prediction, int) and not isinstance(prediction, bool),
               f"{name}() returned {type(prediction).__name__} for {label}; return a whole number of bytes")
        gaps[len(sent)] = prediction - size
    if any(gaps.values()):
        expect(False, _diagnosis(gaps))
    described = ", ".join(f"{label} {size} B" for label, _, size in _cases())
    well_done(f"{name} predicts the client's Certificate message to the byte: {described}")


def _diagnosis(gaps: dict[int, int]) -> str:
    """What the gaps between prediction and measurement say, without the formula."""
    sides = {"short" if gap < 0 else "long" for gap in gaps.values() if gap}
    direction = sides.pop() if len(sides) == 1 else "off, in both directions,"
    per_certificate = {gaps[n + 1] - gaps[n] for n in gaps if n + 1 in gaps}
    if per_certificate == {0}:
        where = ("by the same amount whatever the number of certificates: look at what the message carries "
                 "once, around the whole list (the handshake header, the certificate_request_context, the "
                 "list's own length)")
        if direction == "long":
            where += "; the TLS record header and the AEAD tag wrap the message, they are not part of it"
        where += "."
    elif len(per_certificate) == 1:
        where = ("by an amount that changes by the same step with each certificate: each CertificateEntry "
                 "carries more (or less) than the certificate's DER (and check what the message carries once, "
                 "around the list, too).")
    else:
        where = ("by amounts that vary from chain to chain more than any length field would: is every "
                 "certificate given counted, each once?")
    return (f"the prediction is {direction} {where} The structure is in RFC 8446, section 4.4.2; "
            "every length field counts too.")
