"""One small DER reader and writer, bounds-checked.

cryptography parses certificates for us, but a few lessons need the raw structure: the signature
algorithm inside the to-be-signed part (which cryptography does not expose), or a certificate
rebuilt with one field changed. Every read checks its bounds: a damaged encoding raises
:class:`~mtlslib.errors.DecodeError`, never an ``IndexError`` or a silently short value.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509

from mtlslib.errors import DecodeError

__all__ = ["Tlv", "decode_oid", "encode", "encode_length", "read_tlvs"]


@dataclass(frozen=True)
class Tlv:
    """One DER element: its tag, its content and its whole encoding (header included)."""

    tag: int
    content: bytes
    encoding: bytes


def read_tlvs(data: bytes) -> list[Tlv]:
    """Every element of ``data`` in order (the content of a SEQUENCE, or a whole DER file)."""
    items, pos = [], 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise DecodeError(f"DER: a header is cut short at offset {pos}")
        tag, length, header = data[pos], data[pos + 1], 2
        if length & 0x80:
            count = length & 0x7F
            if count == 0 or count > 4 or pos + 2 + count > len(data):
                raise DecodeError(f"DER: a bad length of length ({count}) at offset {pos}")
            length, header = int.from_bytes(data[pos + 2:pos + 2 + count], "big"), 2 + count
        end = pos + header + length
        if end > len(data):
            raise DecodeError(f"DER: an element at offset {pos} claims {length} bytes, "
                              f"but only {len(data) - pos - header} remain")
        items.append(Tlv(tag, data[pos + header:end], data[pos:end]))
        pos = end
    return items


def encode_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def encode(tag: int, content: bytes) -> bytes:
    """One DER element: ``tag``, the length, then ``content``."""
    return bytes([tag]) + encode_length(len(content)) + content


def decode_oid(content: bytes) -> x509.ObjectIdentifier:
    """The object identifier whose DER content (without tag and length) is ``content``."""
    if not content or content[-1] & 0x80:
        raise DecodeError("DER: an object identifier that is empty or cut short")
    arcs, value = [], 0
    for byte in content:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = min(arcs[0] // 40, 2)
    return x509.ObjectIdentifier(".".join(map(str, [first, arcs[0] - 40 * first, *arcs[1:]])))
