"""A captured connection as a pcapng file that Wireshark opens and decrypts, sans I/O: bytes out.

:func:`pcapng_bytes` wraps the chunks of a connection (``(sender, bytes)`` in wire order, as
:mod:`.conversation` reads them) in the IPv4 and TCP packets that carried them: the three-way
handshake, one segment per chunk with consistent sequence and acknowledgement numbers, then a FIN
each way. The key log travels inside the file as a Decryption Secrets Block (pcapng, block type
0x0000000A, secrets type ``TLSK``: the NSS key log text), so Wireshark 3.0+ and tshark decrypt the
TLS 1.3 and TLS 1.2 records with no other file and no preference to set.

The packets are synthesized, not sniffed: nothing here needs privileges or a capture library.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..errors import UsageError

__all__ = ["MAX_SEGMENT", "SECRETS_TYPE_TLS", "TcpEndpoints", "decryption_secrets_block", "pcapng_bytes"]

BLOCK_SECTION_HEADER = 0x0A0D0D0A
BLOCK_INTERFACE = 0x00000001
BLOCK_ENHANCED_PACKET = 0x00000006
BLOCK_DECRYPTION_SECRETS = 0x0000000A
BYTE_ORDER_MAGIC = 0x1A2B3C4D
SECRETS_TYPE_TLS = 0x544C534B  # "TLSK": the NSS key log format
LINKTYPE_RAW = 101  # each packet starts with its IP header (no Ethernet frame)
OPTION_END, OPTION_COMMENT, SHB_USER_APPLICATION, IF_NAME, IF_TSRESOL = 0, 1, 4, 2, 9

TCP_FIN, TCP_SYN, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x08, 0x10
# The largest payload one IPv4 packet can carry (65535 bytes in all, minus the 20-byte IP and TCP
# headers): a longer chunk is split into several segments, as the kernel would have split it.
MAX_SEGMENT = 65535 - 40
# Fixed initial sequence numbers keep the file reproducible; Wireshark shows sequence numbers
# relative to them anyway.
CLIENT_ISN, SERVER_ISN = 0x10000000, 0x20000000
# Without the capture's own timing, each packet is this much later than the one before.
STEP_SECONDS = 0.0001


@dataclass(frozen=True)
class TcpEndpoints:
    """Who talked to whom. Loopback only: the course never sends a byte anywhere else."""

    client_port: int = 50000  # an ephemeral port, when the real one was not recorded
    server_port: int = 443  # HTTPS's, when the real one was not recorded
    client_ip: str = "127.0.0.1"
    server_ip: str = "127.0.0.1"

    def __post_init__(self):
        for name in ("client_ip", "server_ip"):
            if not getattr(self, name).startswith("127."):
                raise UsageError(f"{name} must be a loopback address (127.x.x.x), not {getattr(self, name)!r}")
        for name in ("client_port", "server_port"):
            if not 0 < getattr(self, name) < 65536:
                raise UsageError(f"{name} must be 1-65535, not {getattr(self, name)}")


def pcapng_bytes(chunks: Sequence[tuple[str, bytes]], *, keylog: str | None = None,
                 times: Sequence[float] | None = None, start: float = 0.0,
                 endpoints: TcpEndpoints = TcpEndpoints()) -> bytes:
    """The whole pcapng file for one connection.

    ``times`` are the chunks' own timestamps (seconds since the epoch, one per chunk); without them
    the packets start at ``start`` and are :data:`STEP_SECONDS` apart. ``keylog`` (NSS key log text)
    becomes a Decryption Secrets Block right after the section header.
    """
    if times is not None and len(times) != len(chunks):
        raise UsageError(f"{len(times)} timestamps for {len(chunks)} chunks: give one per chunk, or none")
    packets = list(_tcp_conversation(chunks, endpoints))
    stamps = _timestamps([index for index, _ in packets], times, start)
    blocks = [_section_header()]
    if keylog:  # where editcap --inject-secrets puts it: before anything that needs it
        blocks.append(decryption_secrets_block(keylog))
    blocks.append(_interface())
    blocks += [_enhanced_packet(stamp, packet) for stamp, (_, packet) in zip(stamps, packets)]
    return b"".join(blocks)


def decryption_secrets_block(keylog: str) -> bytes:
    """A Decryption Secrets Block holding an NSS key log (what ``editcap --inject-secrets tls,FILE`` writes)."""
    secrets = keylog.encode("ascii")
    return _block(BLOCK_DECRYPTION_SECRETS, struct.pack("<II", SECRETS_TYPE_TLS, len(secrets)) + _padded(secrets))


# -- TCP -------------------------------------------------------------------------------------


def _timestamps(chunk_indexes: list[int | None], times: Sequence[float] | None, start: float) -> list[float]:
    """Each packet's time: the time of the chunk it carries, set-up and tear-down packets a
    microsecond apart around them; or, with no times recorded, evenly spaced from ``start``."""
    if not times:
        return [start + n * STEP_SECONDS for n in range(len(chunk_indexes))]
    stamps, last = [], times[0] - 4e-6  # the SYN, SYN-ACK and ACK come just before the first chunk
    for index in chunk_indexes:
        last = last + 1e-6 if index is None else times[index]
        stamps.append(last)
    return stamps


def _tcp_conversation(chunks: Iterable[tuple[str, bytes]], ends: TcpEndpoints):
    """(chunk index or None, IPv4 packet) for every packet of the connection, in order."""
    client = _Side(ends.client_ip, ends.client_port, CLIENT_ISN)
    server = _Side(ends.server_ip, ends.server_port, SERVER_ISN)
    sides = {"client": (client, server), "server": (server, client)}
    yield None, client.segment(server, TCP_SYN, b"", ack=False)
    yield None, server.segment(client, TCP_SYN | TCP_ACK)
    yield None, client.segment(server, TCP_ACK)
    for index, (sender, data) in enumerate(chunks):
        if sender not in sides:
            raise UsageError(f"sender must be 'client' or 'server', not {sender!r}")
        source, destination = sides[sender]
        for offset in range(0, len(data), MAX_SEGMENT):
            yield index, source.segment(destination, TCP_PSH | TCP_ACK, data[offset:offset + MAX_SEGMENT])
    yield None, client.segment(server, TCP_FIN | TCP_ACK)
    yield None, server.segment(client, TCP_FIN | TCP_ACK)
    yield None, client.segment(server, TCP_ACK)


class _Side:
    """One end of the connection: its address and the next sequence number it will send."""

    def __init__(self, ip: str, port: int, isn: int):
        self.ip, self.port, self.next_seq = bytes(map(int, ip.split("."))), port, isn
        self.ip_id = 0

    def segment(self, peer: _Side, flags: int, payload: bytes = b"", *, ack: bool = True) -> bytes:
        # SYN and FIN each take one sequence number, as if they were a byte of data.
        seq, self.next_seq = self.next_seq, (self.next_seq + len(payload) + bool(flags & (TCP_SYN | TCP_FIN))) % 2**32
        tcp = struct.pack("!HHIIBBHHH", self.port, peer.port, seq, peer.next_seq if ack else 0, 5 << 4, flags,
                          65535, 0, 0) + payload
        pseudo = self.ip + peer.ip + struct.pack("!BBH", 0, 6, len(tcp))
        tcp = tcp[:16] + struct.pack("!H", _checksum(pseudo + tcp)) + tcp[18:]
        self.ip_id = (self.ip_id + 1) % 2**16
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), self.ip_id, 0x4000, 64, 6, 0, self.ip, peer.ip)
        return ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:] + tcp


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): the ones' complement of the ones'-complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


# -- pcapng blocks ---------------------------------------------------------------------------


def _padded(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + _padded(value)


def _options(*options: bytes) -> bytes:
    return b"".join(options) + struct.pack("<HH", OPTION_END, 0)


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _section_header() -> bytes:
    # Section length -1: "not given", which lets a reader stream the file.
    return _block(BLOCK_SECTION_HEADER, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
                  + _options(_option(SHB_USER_APPLICATION, b"mtlslib")))


def _interface() -> bytes:
    # Timestamps in microseconds (if_tsresol 6, the default, written out for clarity); no snap length limit.
    return _block(BLOCK_INTERFACE, struct.pack("<HHI", LINKTYPE_RAW, 0, 0)
                  + _options(_option(IF_NAME, b"lo"), _option(IF_TSRESOL, b"\x06")))


def _enhanced_packet(timestamp: float, packet: bytes) -> bytes:
    micros = round(timestamp * 1_000_000)
    return _block(BLOCK_ENHANCED_PACKET, struct.pack("<IIIII", 0, micros >> 32, micros & 0xFFFFFFFF, len(packet),
                                                     len(packet)) + _padded(packet))
