"""The exceptions mtlslib raises.

Everything mtlslib raises on purpose derives from :class:`MtlsLibError`, so a notebook or a
command-line tool can catch one type and show the message. Every message names the file, value or
identity involved and says what to do about it.
"""

from __future__ import annotations


class MtlsLibError(Exception):
    """Base class of every error mtlslib raises on purpose."""


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



class DecodeError(MtlsLibError, ValueError):
    """Captured TLS bytes that cannot be decoded: truncated, malformed, or not TLS at all.

    The message says where (which record or message, at which offset) and what was expected.
    """


class DecryptError(DecodeError):
    """A TLS 1.3 record that does not open with the keys derived from the key log."""
