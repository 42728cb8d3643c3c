"""Every exception mtlslib raises on purpose, in one place.

Everything derives from :class:`MtlsLibError`, so a notebook or a command-line tool can catch one
type and show the message. Every message names the file, value or identity involved and says what
to do about it. The classes that are also a built-in type (``ValueError``, ``TimeoutError``...) are
so that code written against the standard library's conventions keeps working.

- Arguments: :class:`UsageError` (a bad argument to a function or command).
- Certificates: :class:`CertificateLoadError`, :class:`ProfileError`, :class:`PurposeError`.
- Connections: :class:`NotLoopbackError`, :class:`HandshakeTimeout`, :class:`ServiceStateError`,
  :class:`ClientUrlError`, :class:`PolicyError`.
- Captured bytes: :class:`DecodeError`, :class:`DecryptError`.
- Teaching code: :class:`ToyMathError`, :class:`InvalidPublicValue`, :class:`FigureError`,
  :class:`AttackBoundsError`, :class:`ExerciseNotDone`, :class:`ExerciseIncorrect`.
"""

from __future__ import annotations

__all__ = ["AttackBoundsError", "CertificateLoadError", "ClientUrlError", "DecodeError", "DecryptError",
           "ExerciseIncorrect", "ExerciseNotDone", "FigureError", "HandshakeTimeout", "InvalidPublicValue",
           "MtlsLibError", "NotLoopbackError", "PolicyError", "ProfileError", "PurposeError", "ServiceStateError",
           "ToyMathError", "UsageError"]


class MtlsLibError(Exception):
    """Base class of every error mtlslib raises on purpose."""


class UsageError(MtlsLibError, ValueError):
    """A function or command was given an argument it cannot use (wrong type, unknown choice, bad range).

    The message names the argument and the value, and says what is accepted.
    """


class CertificateLoadError(MtlsLibError, ValueError):
    """A certificate, key, CRL or PKCS#12 file (or bytes) could not be used.

    Raised for missing files, garbage or DER where PEM is expected, wrong passwords and a private
    key that does not belong to the certificate.
    """


class ProfileError(MtlsLibError, ValueError):
    """A request for a certificate that the profile cannot make (unknown key type, bad name...)."""


class PurposeError(MtlsLibError, ValueError):
    """A certificate was offered for a role its extended key usage does not allow."""


class NotLoopbackError(MtlsLibError, ValueError):
    """Something asked to bind or connect to an address outside 127.0.0.0/8 or ::1."""


class HandshakeTimeout(MtlsLibError, TimeoutError):
    """A peer stopped answering: a network step did not finish within its timeout."""


class ServiceStateError(MtlsLibError, RuntimeError):
    """A server, service or relay was used before ``start()`` (or outside its ``with`` block), or started twice."""


class ClientUrlError(MtlsLibError, ValueError):
    """A URL the real clients will not fetch: not https, no port, or not on a loopback address."""


class PolicyError(MtlsLibError, ValueError):
    """A rule that cannot be written: a malformed SPIFFE ID, email address, DNS name or issuer."""


class DecodeError(MtlsLibError, ValueError):
    """Captured TLS bytes that cannot be decoded: truncated, malformed, or not TLS at all.

    The message says where (which record or message, at which offset) and what was expected.
    """


class DecryptError(DecodeError):
    """A TLS 1.3 record that does not open with the keys derived from the key log."""


class ToyMathError(MtlsLibError, ValueError):
    """Parameters the toy maths cannot use (not a prime, not in the group, too big to search...)."""


class InvalidPublicValue(MtlsLibError, ValueError):
    """A public value (key share) that a careful party refuses before using it."""


class FigureError(MtlsLibError, ValueError):
    """A figure asked for with data it cannot draw (no measurements, a point not on the curve...)."""


class AttackBoundsError(MtlsLibError, ValueError):
    """A teaching attack was asked to go beyond its fences (too many attempts, too much time, a real address)."""


class ExerciseNotDone(MtlsLibError):
    """The exercise function still has no body (it raises NotImplementedError)."""


class ExerciseIncorrect(MtlsLibError):
    """The exercise function runs but gives a wrong result; the message says what is wrong."""
