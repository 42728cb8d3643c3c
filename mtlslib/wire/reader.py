"""A bounds-checked cursor over bytes: every read either succeeds or raises DecodeError."""

from __future__ import annotations

from ..errors import DecodeError


class Reader:
    def __init__(self, data: bytes, what: str):
        self._data = bytes(data)
        self._pos = 0
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self._data) - self._pos

    def done(self) -> bool:
        return self._pos >= len(self._data)

    def bytes(self, n: int) -> bytes:
        if n > self.remaining:
            raise DecodeError(
                f"{self.what}: truncated at byte {self._pos}: needed {n} more bytes, only {self.remaining} left"
            )
        chunk = self._data[self._pos:self._pos + n]
        self._pos += n
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.bytes(size), "big")

    def vector(self, length_size: int) -> bytes:
        """A TLS ``opaque x<...>``: a length prefix of ``length_size`` bytes, then that many bytes."""
        return self.bytes(self.uint(length_size))

    def sub(self, length_size: int, what: str) -> "Reader":
        return Reader(self.vector(length_size), f"{self.what}, {what}")

    def rest(self) -> bytes:
        return self.bytes(self.remaining)

    def expect_end(self) -> None:
        if self.remaining:
            raise DecodeError(f"{self.what}: {self.remaining} unexpected trailing bytes")
