"""PEM in and out: loading certificates and keys with clear errors, writing private files safely.

Passwords are ``str`` or ``bytes`` everywhere (a ``str`` is encoded as UTF-8).
"""

from __future__ import annotations

import errno
import os
import re
import shutil
import stat
import tempfile
import warnings
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator, Union

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from mtlslib.errors import CertificateLoadError, DecodeError, UsageError

from .der import decode_oid, encode, read_tlvs

# What cryptography raises for bytes that are not a well-formed certificate (InvalidVersion is
# not a ValueError).
PARSE_ERRORS = (ValueError, x509.InvalidVersion)

__all__ = ["MAX_INPUT_BYTES", "PARSE_ERRORS", "Password", "SslFiles", "certificate_pem", "check_key_matches",
           "extensions_one_by_one", "load_pem_certificates", "load_pem_pair", "load_pem_private_key", "password_bytes",
           "private_key_pem", "read_file", "readable_certificate", "readable_certificates", "readable_crl", "slug",
           "staged_directory", "write_file", "write_private_file"]

Password = Union[str, bytes, None]


def password_bytes(password: Password) -> bytes | None:
    """A password as the bytes cryptography wants: ``str`` is encoded as UTF-8, ``""`` means none."""
    if password is None or password in ("", b""):
        return None
    if isinstance(password, str):
        return password.encode()
    if isinstance(password, (bytes, bytearray)):
        return bytes(password)
    raise UsageError(f"a password must be str or bytes, not {type(password).__name__}")


def private_key_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def certificate_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def write_file(path: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` whole or not at all, never through a symlink or into an existing inode.

    The bytes go to a new file beside ``path`` (created exclusively, not following symlinks, with
    ``mode`` from the start), then a rename puts it in place: a symlink planted at ``path`` is replaced,
    never followed, and a reader sees the old file or the new one, never half of one.
    """
    path = Path(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for attempt in range(100):
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{attempt}.tmp")
        try:
            fd = os.open(temporary, flags, mode)
            break
        except FileExistsError:
            continue
    else:  # pragma: no cover - a hundred stale temporary files
        raise FileExistsError(f"{path}: cannot create a temporary file beside it")
    try:
        with os.fdopen(fd, "wb") as file:
            os.fchmod(file.fileno(), mode)  # the umask may have narrowed it; never widened past mode
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


@contextmanager
def staged_directory(directory: Path) -> Iterator[Path]:
    """A new folder beside ``directory`` to write a set of files into, published only if all went well.

    When the ``with`` block ends without an error, the files move into ``directory`` (which is created
    by one rename if it did not exist, else each file replaces its namesake by one rename). After an
    error ``directory`` is exactly as it was, and the staging folder is gone.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "it exists and is not a folder", str(directory))
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging: Path | None = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", suffix=".partial",
                                                 dir=directory.parent))
    try:
        yield staging
        if directory.exists():
            items = sorted(staging.iterdir())
            for item in items:  # refuse before moving anything, rather than halfway through
                target = directory / item.name
                if target.is_dir() and not target.is_symlink():
                    raise IsADirectoryError(errno.EISDIR, "a folder is in the way", str(target))
            for item in items:
                os.replace(item, directory / item.name)
        else:
            os.rename(staging, directory)
            staging = None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)


def write_private_file(path: Path, data: bytes) -> Path:
    """Write a secret (a private key, a PKCS#12 bundle): as :func:`write_file`, readable by its owner only."""
    return write_file(path, data, mode=0o600)


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.").lower() or "certificate"


MAX_INPUT_BYTES = 4 << 20
"""The largest certificate, key or CRL file mtlslib reads (4 MiB: a CRL of 100,000 entries is ~4 MB)."""


def read_file(path) -> bytes:
    """The bytes of a regular file of at most :data:`MAX_INPUT_BYTES`; a clear :class:`CertificateLoadError`
    for anything else (missing, a folder, a FIFO or device that would hang or never end, too large)."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise CertificateLoadError(f"{path}: no such file; check the path "
                                   "(make one with `python -m mtlslib pki DIR`)") from None
    except IsADirectoryError:
        raise CertificateLoadError(f"{path}: is a directory, expected a PEM file") from None
    except OSError as e:
        raise CertificateLoadError(f"{path}: cannot read it ({e.strerror})") from None
    info = os.fstat(fd)
    problem = ("is a directory, expected a PEM file" if stat.S_ISDIR(info.st_mode)
               else "not a regular file (a pipe, socket or device); give a PEM file" if not stat.S_ISREG(info.st_mode)
               else f"{info.st_size:,} bytes, more than the {MAX_INPUT_BYTES:,} a certificate, key or CRL file may "
                    "have" if info.st_size > MAX_INPUT_BYTES else None)
    if problem:
        os.close(fd)
        raise CertificateLoadError(f"{path}: {problem}")
    with os.fdopen(fd, "rb") as file:
        try:
            data = file.read(MAX_INPUT_BYTES + 1)
        except OSError as e:
            raise CertificateLoadError(f"{path}: cannot read it ({e.strerror})") from None
    if len(data) > MAX_INPUT_BYTES:  # it grew while we read
        raise CertificateLoadError(f"{path}: more than the {MAX_INPUT_BYTES:,} bytes a certificate, key or CRL "
                                   "file may have")
    return data


def _looks_like_der(data: bytes) -> bool:
    """Whether ``data`` is exactly one DER SEQUENCE (what a DER certificate or key is); text that
    merely starts with "0" (0x30) is not."""
    if len(data) < 2 or data[0] != 0x30:
        return False
    first = data[1]
    if first < 0x80:
        return 2 + first == len(data)
    count = first & 0x7F
    if not 1 <= count <= 4 or len(data) < 2 + count:
        return False
    return 2 + count + int.from_bytes(data[2:2 + count], "big") == len(data)


def _expect_pem(data: bytes, source: str, marker: bytes, what: str, openssl_command: str, example: str) -> None:
    if _looks_like_der(data):
        raise CertificateLoadError(f"{source}: this is DER (binary), not PEM; convert it with "
                                   f"`openssl {openssl_command} -inform DER -in {source} -out {example}`")
    if marker not in data:
        block = "-----BEGIN CERTIFICATE-----" if what == "certificate" else "-----BEGIN PRIVATE KEY-----"
        raise CertificateLoadError(f"{source}: no PEM {what} in it (expected a '{block}' block)")


def load_pem_certificates(data: bytes, source: str = "<bytes>") -> list[x509.Certificate]:
    """All certificates in PEM ``data``, every field of each readable (:func:`readable_certificate`);
    a clear :class:`CertificateLoadError` otherwise."""
    _expect_pem(data, source, b"-----BEGIN CERTIFICATE-----", "certificate", "x509", "cert.pem")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. a non-positive serial: loadable, and not this loader's verdict
            certificates = x509.load_pem_x509_certificates(data)
    except PARSE_ERRORS as e:
        raise CertificateLoadError(f"{source}: a certificate block is damaged and cannot be parsed ({e})") from None
    return readable_certificates(certificates, source)


# --------------------------------------------------------------------------------------------
# Every field readable
#
# cryptography checks a certificate's outer structure when it loads one and decodes most fields only
# when they are first read: a certificate can load and still hold a name, a time or an extension
# list that cannot be decoded, and the error would surface later, far from the file it came from.
# These functions read every field once, so that such a file is refused where it is loaded. What a
# verifier judges stays loadable: an extension whose value cannot be parsed (a critical one fails
# verification, OpenSSL ignores some others), a key or signature algorithm nobody implements.

_CERTIFICATE_FIELDS: tuple[tuple[str, Callable], ...] = (
    ("its version", lambda c: c.version),
    ("its serial number", lambda c: c.serial_number),
    ("its signature algorithm", lambda c: (c.signature_algorithm_oid, c.signature, c.tbs_certificate_bytes)),
    ("its issuer name", lambda c: c.issuer.rfc4514_string()),
    ("its validity dates", lambda c: (c.not_valid_before_utc, c.not_valid_after_utc)),
    ("its subject name", lambda c: c.subject.rfc4514_string()),
    ("its public key's algorithm", lambda c: c.public_key_algorithm_oid),
)
_CRL_FIELDS: tuple[tuple[str, Callable], ...] = (
    ("its signature algorithm", lambda c: (c.signature_algorithm_oid, c.signature, c.tbs_certlist_bytes)),
    ("its issuer name", lambda c: c.issuer.rfc4514_string()),
    ("its update times", lambda c: (c.last_update_utc, c.next_update_utc)),
    ("its extensions", lambda c: list(c.extensions)),
)
_ENTRY_FIELDS: tuple[tuple[str, Callable], ...] = (
    ("its serial number", lambda e: e.serial_number),
    ("its revocation date", lambda e: e.revocation_date_utc),
    ("its extensions", lambda e: list(e.extensions)),
)
_SEQUENCE, _EXTENSIONS_TAG = 0x30, 0xA3


def _first_unreadable(item, fields) -> str | None:
    """What the first field of ``item`` that cannot be decoded is, and why; None if all can."""
    for what, read in fields:
        try:
            read(item)
        except Exception as error:  # cryptography's decoders raise several unrelated types; each is the finding
            return f"{what} cannot be decoded ({str(error) or type(error).__name__})"
    return None


# The same certificates come back again and again (a chain checked once per scenario, a trust store per
# handshake), and a certificate hashes and compares by its DER: each distinct one is read once.
@lru_cache(maxsize=1024)
def _certificate_problem(cert: x509.Certificate) -> str | None:
    problem = _first_unreadable(cert, _CERTIFICATE_FIELDS)
    if problem is None:
        try:
            cert.extensions
        except Exception:  # one damaged or repeated extension: is it only that one?
            try:
                extensions_one_by_one(cert)
            except DecodeError as error:
                problem = f"its list of extensions cannot be decoded ({error})"
    return problem


def readable_certificate(cert: x509.Certificate, source: str) -> x509.Certificate:
    """``cert`` if every field can be decoded (its extensions each on their own); else a one-line
    :class:`CertificateLoadError` that names ``source`` and the field."""
    return readable_certificates([cert], source)[0]


def readable_certificates(certificates: list[x509.Certificate], source: str) -> list[x509.Certificate]:
    """:func:`readable_certificate` for each of ``certificates`` (the blocks of one file)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a non-positive serial, an over-long country name: findings, not damage
        for number, cert in enumerate(certificates, 1):
            problem = _certificate_problem(cert)
            if problem is not None:
                which = f"certificate {number} of {len(certificates)}" if len(certificates) > 1 else "the certificate"
                raise CertificateLoadError(f"{source}: {which} is damaged: {problem}")
    return certificates


def readable_crl(crl: x509.CertificateRevocationList, source: str) -> x509.CertificateRevocationList:
    """``crl`` if every field, every revoked entry and every extension can be decoded; else a one-line
    :class:`CertificateLoadError` that names ``source``, the field and the entry."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a non-positive serial on an entry: loadable, not this loader's verdict
        problem = _first_unreadable(crl, _CRL_FIELDS)
        if problem is None:
            try:
                entries = list(crl)
            except Exception as error:  # see _first_unreadable
                problem = f"its list of revoked certificates cannot be decoded ({str(error) or type(error).__name__})"
            else:
                problem = next((f"revoked entry {number} of {len(entries)}: {entry_problem}"
                                for number, entry in enumerate(entries, 1)
                                if (entry_problem := _first_unreadable(entry, _ENTRY_FIELDS))), None)
    if problem is not None:
        raise CertificateLoadError(f"{source}: the CRL is damaged: {problem}")
    return crl


def extensions_one_by_one(cert: x509.Certificate) -> tuple[list[x509.Extension], list[tuple]]:
    """Each extension of ``cert`` parsed on its own (cryptography parses all or nothing), so that one
    damaged or repeated extension does not hide the others: ``(parsed, broken)``, ``broken`` holding
    ``(OID, critical, why)`` for each that cannot be parsed. :class:`DecodeError` when the list
    itself cannot be read."""
    try:
        (whole,) = read_tlvs(cert.public_bytes(serialization.Encoding.DER))
        tbs, algorithm, signature = read_tlvs(whole.content)
        fields = read_tlvs(tbs.content)
        index = next((i for i, field in enumerate(fields) if field.tag == _EXTENSIONS_TAG), None)
        if index is None:
            raise DecodeError("no extensions field where one was expected")
        (raw_list,) = read_tlvs(fields[index].content)
        raws = read_tlvs(raw_list.content)
        parts_of = [read_tlvs(raw.content) for raw in raws]
        oids = [decode_oid(parts[0].content) for parts in parts_of]
    except (ValueError, IndexError) as error:  # DecodeError, a wrong number of elements, an impossible OID
        raise DecodeError(str(error) or "an element is missing") from None
    parsed, broken, seen = [], [], set()
    for raw, parts, oid in zip(raws, parts_of, oids):
        critical = len(parts) == 3 and parts[1].content == b"\xff"
        if oid in seen:
            broken.append((oid, critical, "the extension appears twice"))
            continue
        seen.add(oid)
        single = [f.encoding for f in fields[:index]] + [encode(_EXTENSIONS_TAG, encode(_SEQUENCE, raw.encoding))]
        single += [f.encoding for f in fields[index + 1:]]
        der = encode(_SEQUENCE, encode(_SEQUENCE, b"".join(single)) + algorithm.encoding + signature.encoding)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed.extend(x509.load_der_x509_certificate(der).extensions)
        except Exception as error:  # whatever cryptography's parser raises is the finding
            broken.append((oid, critical, str(error) or type(error).__name__))
    return parsed, broken


def load_pem_private_key(data: bytes, source: str = "<bytes>", password: Password = None):
    """The private key in PEM ``data``; a clear :class:`CertificateLoadError` otherwise."""
    password = password_bytes(password)
    _expect_pem(data, source, b"PRIVATE KEY-----", "private key", "pkey", "key.pem")
    try:
        return serialization.load_pem_private_key(data, password)
    except TypeError:
        if password is None:
            raise CertificateLoadError(f"{source}: the key is encrypted; give its password") from None
        raise CertificateLoadError(f"{source}: the key is not encrypted; give no password") from None
    except ValueError as e:
        if password is not None and ("password" in str(e).lower() or "decrypt" in str(e).lower()):
            raise CertificateLoadError(f"{source}: wrong password for this key") from None
        # PEM encryption has no integrity check: about one wrong password in 200 decrypts to
        # garbage with valid padding, which then fails to parse rather than to decrypt.
        if password is not None and b"ENCRYPTED" in data:
            raise CertificateLoadError(f"{source}: wrong password for this key (or the key is damaged)") from None
        raise CertificateLoadError(f"{source}: the private key is damaged and cannot be parsed") from None
    except UnsupportedAlgorithm as e:
        raise CertificateLoadError(f"{source}: unsupported key algorithm ({e})") from None


def _public_bytes(key) -> bytes:
    return key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def check_key_matches(cert: x509.Certificate, key, cert_source: str, key_source: str) -> None:
    if _public_bytes(cert.public_key()) != _public_bytes(key.public_key()):
        raise CertificateLoadError(
            f"{key_source}: this private key does not belong to the certificate in {cert_source} "
            "(their public keys differ); pick the key file issued together with that certificate"
        )


def load_pem_pair(cert_file, key_file, password: Password = None):
    """``(certificate, private key, the certificates after the first)`` from a PEM chain file and
    its key file; refuses a key that does not belong to the certificate."""
    certs = load_pem_certificates(read_file(cert_file), str(cert_file))
    key = load_pem_private_key(read_file(key_file), str(key_file), password)
    check_key_matches(certs[0], key, str(cert_file), str(key_file))
    return certs[0], key, certs[1:]


class SslFiles:
    """Bytes as files just long enough for ``ssl``, which reads certificates, keys, CRLs and trust
    stores only from files, and writes its key log only to one.

    >>> with SslFiles(cert=chain_pem, key=key_pem) as paths:
    ...     context.load_cert_chain(paths["cert"], paths["key"])

    On Linux the files are anonymous memory files (``memfd_create``) named through
    ``/proc/self/fd``: nothing touches the disk, the private key included, and nothing is left
    behind if the process dies. Elsewhere they are 0600 files in a fresh private folder, removed
    on exit. Read a file back (a key log) through its path before the block ends.
    """

    def __init__(self, **contents: bytes):
        self._contents = contents
        self._fds: list[int] = []
        self._dir: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> dict[str, str]:
        if _MEMORY_FILES:
            return {name: self._memory_file(name, data) for name, data in self._contents.items()}
        self._dir = tempfile.TemporaryDirectory(prefix="mtlslib-")
        paths = {}
        for name, data in self._contents.items():
            # A fresh folder only its owner can enter: a plain exclusive create is enough, and these
            # files live for milliseconds, so no fsync and no rename (write_file's guarantees).
            path = Path(self._dir.name) / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            paths[name] = str(path)
        return paths

    def _memory_file(self, name: str, data: bytes) -> str:
        fd = os.memfd_create(f"mtlslib-{name}", os.MFD_CLOEXEC)
        self._fds.append(fd)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        return f"/proc/self/fd/{fd}"

    def __exit__(self, *exc) -> None:
        for fd in self._fds:
            os.close(fd)
        self._fds.clear()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None


# Anonymous memory files reachable by a path: Linux with /proc mounted.
_MEMORY_FILES = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")
