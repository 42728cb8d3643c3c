"""The TLS record layer, sans I/O: bytes of one direction in, whole records out."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DecodeError
from .constants import CONTENT_TYPES, name_of

# RFC 5246 allows ciphertext up to 2^14 + 2048 bytes (TLS 1.3 lowers it to 2^14 + 256).
MAX_FRAGMENT = 2**14 + 2048
HEADER_SIZE = 5


@dataclass(frozen=True)
class Record:
    """One TLS record as it crossed the wire."""

    content_type: int
    legacy_version: int
    fragment: bytes
    offset: int  # where the record starts in its direction's byte stream

    @property
    def header(self) -> bytes:
        """The 5-byte header, which is also the additional data of a TLS 1.3 AEAD record."""
        return (bytes([self.content_type]) + self.legacy_version.to_bytes(2, "big")
                + len(self.fragment).to_bytes(2, "big"))

    @property
    def type_name(self) -> str:
        return name_of(CONTENT_TYPES, self.content_type, 2)

    @property
    def size(self) -> int:
        return HEADER_SIZE + len(self.fragment)


class RecordBuffer:
    """Reassembles records from TCP chunks of one direction, however the stream was split."""

    def __init__(self, direction: str = "stream"):
        self.direction = direction
        self._pending = bytearray()
        self._offset = 0

    def feed(self, chunk: bytes) -> list[Record]:
        """Add bytes; return every record they complete (possibly none)."""
        self._pending += chunk
        records = []
        while len(self._pending) >= HEADER_SIZE:
            content_type = self._pending[0]
            version = int.from_bytes(self._pending[1:3], "big")
            length = int.from_bytes(self._pending[3:5], "big")
            where = f"{self.direction}, record at byte {self._offset}"
            if content_type not in CONTENT_TYPES:
                hint = " (it looks like plain text: is the peer speaking TLS?)" if 0x20 <= content_type < 0x7F else ""
                raise DecodeError(f"{where}: 0x{content_type:02x} is not a TLS content type{hint}")
            if version >> 8 != 3:
                raise DecodeError(f"{where}: record version 0x{version:04x} is not TLS (expected 0x03xx)")
            if length > MAX_FRAGMENT:
                raise DecodeError(f"{where}: length {length} exceeds the TLS maximum of {MAX_FRAGMENT}")
            if len(self._pending) < HEADER_SIZE + length:
                break
            fragment = bytes(self._pending[HEADER_SIZE:HEADER_SIZE + length])
            records.append(Record(content_type, version, fragment, self._offset))
            del self._pending[:HEADER_SIZE + length]
            self._offset += HEADER_SIZE + length
        return records

    @property
    def pending(self) -> int:
        """Bytes received that do not yet form a whole record."""
        return len(self._pending)

    def close(self) -> None:
        """Declare the stream finished: leftover bytes mean the capture was cut mid-record."""
        if self._pending:
            raise DecodeError(
                f"{self.direction}: the stream ends inside a record ({len(self._pending)} bytes of an "
                f"incomplete record at byte {self._offset}); the capture is truncated"
            )


def read_records(stream: bytes, direction: str = "stream") -> list[Record]:
    """Every record of a complete one-direction byte stream."""
    buffer = RecordBuffer(direction)
    records = buffer.feed(stream)
    buffer.close()
    return records
