"""Certificate compression (RFC 8879), sans I/O: a CompressedCertificate's body in, the body of
the Certificate message it stands for out.

A TLS 1.3 peer that can decompress lists its algorithms in a ``compress_certificate`` extension
(ClientHello, or the server's CertificateRequest); the other side may then send a
CompressedCertificate (handshake type 25) in place of its Certificate. OpenSSL 3.2 and later do
this when they were built with zlib, brotli or zstd (Debian's OpenSSL 3.5: zlib and zstd; 3.0: none).

The transcript (and so CertificateVerify and Finished) covers the CompressedCertificate as sent;
decompressing it only recovers the certificates. zlib is in Python's standard library; brotli and
zstd are decoded when a module for them is importable, otherwise the message says so.
"""

from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass
from typing import Callable

from ..errors import DecodeError
from .reader import Reader

__all__ = ["ALGORITHMS", "CompressedBody", "decompress_certificate"]

ALGORITHMS = {1: "zlib", 2: "brotli", 3: "zstd"}  # the IANA registry of RFC 8879, section 7.3


def _zlib(data: bytes, length: int) -> bytes:
    inflater = zlib.decompressobj()
    # One byte more than announced is enough to see the lie, and caps what a forged length costs.
    return inflater.decompress(data, length + 1)


def _module(*names: str):
    for name in names:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    return None


def _brotli() -> Callable[[bytes, int], bytes] | None:
    module = _module("brotli", "brotlicffi")
    return None if module is None else lambda data, length: module.decompress(data)


def _zstd() -> Callable[[bytes, int], bytes] | None:
    standard = _module("compression.zstd")  # Python 3.14 and later
    if standard is not None:
        return lambda data, length: standard.decompress(data)
    module = _module("zstandard")
    return None if module is None else \
        lambda data, length: module.ZstdDecompressor().decompress(data, max_output_size=length + 1)


def _decompressor(algorithm: int) -> Callable[[bytes, int], bytes] | None:
    if algorithm == 1:
        return _zlib
    if algorithm == 2:
        return _brotli()
    if algorithm == 3:
        return _zstd()
    return None


@dataclass(frozen=True)
class CompressedBody:
    """A CompressedCertificate's fields; ``certificate_body`` is the Certificate message body it
    stands for, or ``None`` when this Python cannot decompress it (``why_not`` says why)."""

    algorithm: int
    uncompressed_length: int
    compressed: bytes
    certificate_body: bytes | None
    why_not: str | None = None

    @property
    def algorithm_name(self) -> str:
        return ALGORITHMS.get(self.algorithm, f"algorithm 0x{self.algorithm:04x}")


def decompress_certificate(body: bytes) -> CompressedBody:
    """Read a CompressedCertificate body (header excluded) and decompress it where this Python can.

    :class:`~mtlslib.errors.DecodeError` when the data does not decompress to the length it announces
    (RFC 8879 section 4: the receiver then aborts with a bad_certificate alert).
    """
    reader = Reader(body, "CompressedCertificate")
    algorithm, length, compressed = reader.uint(2), reader.uint(3), reader.vector(3)
    reader.expect_end()
    decompress = _decompressor(algorithm)
    name = ALGORITHMS.get(algorithm)
    if decompress is None:
        why = (f"compressed with {name}, not decodable here (no {name} module in this Python)" if name
               else f"compressed with unknown algorithm 0x{algorithm:04x}, not decodable")
        return CompressedBody(algorithm, length, compressed, None, why)
    try:
        plain = decompress(compressed, length)
    except Exception as error:  # each library raises its own error type for corrupt data
        raise DecodeError(f"CompressedCertificate: the {name} data does not decompress ({error})") from None
    if len(plain) != length:
        raise DecodeError(f"CompressedCertificate: {name} data gives {len(plain)} bytes, "
                          f"the message announced {length}")
    return CompressedBody(algorithm, length, compressed, plain)
