"""The pcapng writer: well-formed blocks, a consistent TCP connection around the captured bytes, the key
log as a Decryption Secrets Block; and Wireshark's own dissector (tshark) reading the same messages as
mtlslib.wire, decrypted, for TLS 1.2 and 1.3, with and without a client certificate, and when a
handshake fails. The tshark tests are skipped, with the reason, where tshark is not installed (`make
test` installs it as root)."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
import dataclasses
from dataclasses import dataclass

import pytest

from mtlslib.errors import UsageError
from mtlslib.tls import capture_handshake
from mtlslib.tls.pcap import compare_all_with_tshark, compare_with_tshark, tshark_messages
from mtlslib.wire.pcapng import MAX_SEGMENT, SECRETS_TYPE_TLS, TcpEndpoints, decryption_secrets_block, pcapng_bytes

SHB, IDB, EPB, DSB = 0x0A0D0D0A, 0x1, 0x6, 0xA
SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08
KEYLOG = "#\nCLIENT_RANDOM " + "ab" * 32 + " " + "cd" * 48 + "\n"  # 178 bytes: 2 bytes of padding


@dataclass
class Segment:
    time_us: int
    src_port: int
    dst_port: int
    seq: int
    ack: int
    flags: int
    payload: bytes
    checksums_ok: bool


def blocks(data: bytes) -> list[tuple[int, bytes]]:
    """(block type, body) of every block, checking the framing every block shares."""
    found, offset = [], 0
    while offset < len(data):
        block_type, length = struct.unpack_from("<II", data, offset)
        assert length % 4 == 0 and length >= 12, f"block at {offset}: length {length}"
        assert struct.unpack_from("<I", data, offset + length - 4)[0] == length, "trailing length differs"
        found.append((block_type, data[offset + 8:offset + length - 4]))
        offset += length
    assert offset == len(data)
    return found


def ones_complement_sum(data: bytes) -> int:
    data += b"\x00" * (len(data) % 2)
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def segments(data: bytes) -> list[Segment]:
    found = []
    for block_type, body in blocks(data):
        if block_type != EPB:
            continue
        _, high, low, captured, original = struct.unpack_from("<IIIII", body)
        assert captured == original
        packet = body[20:20 + captured]
        ip, tcp = packet[:20], packet[20:]
        assert ip[0] == 0x45 and ip[9] == 6 and struct.unpack("!H", ip[2:4])[0] == len(packet)
        assert ip[12:16] == ip[16:20] == bytes([127, 0, 0, 1])
        pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
        src, dst, seq, ack, offset_byte, flags = struct.unpack("!HHIIBB", tcp[:14])
        found.append(Segment((high << 32) | low, src, dst, seq, ack, flags, tcp[(offset_byte >> 4) * 4:],
                             ones_complement_sum(ip) == 0xFFFF and ones_complement_sum(pseudo + tcp) == 0xFFFF))
    return found


CHUNKS = [("client", b"\x16hello"), ("server", b"\x16" + bytes(300)), ("client", b"x"), ("server", b"bye!")]


def test_the_file_is_a_section_header_a_secrets_block_an_interface_and_packets():
    found = blocks(pcapng_bytes(CHUNKS, keylog=KEYLOG))
    assert [block_type for block_type, _ in found] == [SHB, DSB, IDB] + [EPB] * 10
    magic, major, minor = struct.unpack_from("<IHH", found[0][1])
    assert (magic, major, minor) == (0x1A2B3C4D, 1, 0)
    assert struct.unpack_from("<HHI", found[2][1]) == (101, 0, 0)  # raw IPv4 packets, no snap length


def test_the_secrets_block_holds_the_key_log_padded_to_32_bits():
    body = dict(blocks(pcapng_bytes(CHUNKS, keylog=KEYLOG)))[DSB]
    secrets_type, length = struct.unpack_from("<II", body)
    assert secrets_type == SECRETS_TYPE_TLS and body[:4] == b"KSLT"  # "TLSK", little-endian
    assert body[8:8 + length].decode() == KEYLOG and length == len(KEYLOG)
    assert len(body) % 4 == 0 and body[8 + length:] == b"\x00" * (-length % 4) != b""


def test_no_key_log_no_secrets_block():
    assert DSB not in dict(blocks(pcapng_bytes(CHUNKS)))


def test_tcp_set_up_data_and_tear_down_with_consistent_numbers():
    ends = TcpEndpoints(client_port=40000, server_port=8443)
    found = segments(pcapng_bytes(CHUNKS, endpoints=ends))
    assert all(s.checksums_ok for s in found)
    assert [s.flags for s in found] == ([SYN, SYN | ACK, ACK] + [PSH | ACK] * len(CHUNKS)
                                        + [FIN | ACK, FIN | ACK, ACK])
    client = [s for s in found if s.src_port == 40000]
    server = [s for s in found if s.src_port == 8443]
    assert all(s.dst_port == 8443 for s in client) and all(s.dst_port == 40000 for s in server)
    # Each side's sequence number moves on by its payload, and by one for SYN and FIN; every
    # acknowledgement names the next byte the peer will send.
    next_seq = {40000: client[0].seq, 8443: server[0].seq}
    for segment in found:
        assert segment.seq == next_seq[segment.src_port]
        next_seq[segment.src_port] += len(segment.payload) + bool(segment.flags & (SYN | FIN))
        if segment.flags & ACK:
            assert segment.ack == next_seq[segment.dst_port]
    for sender, port in (("client", 40000), ("server", 8443)):
        sent = b"".join(s.payload for s in found if s.src_port == port)
        assert sent == b"".join(data for who, data in CHUNKS if who == sender)


def test_timestamps_are_the_chunks_own_or_even_steps():
    times = [1_700_000_000.25, 1_700_000_000.5, 1_700_000_000.75, 1_700_000_001.0]
    stamps = [s.time_us for s in segments(pcapng_bytes(CHUNKS, times=times))]
    assert stamps[3:7] == [round(t * 1e6) for t in times]
    assert stamps == sorted(stamps) and stamps[0] < stamps[3] and stamps[-1] > stamps[6]
    stepped = [s.time_us for s in segments(pcapng_bytes(CHUNKS, start=1_700_000_000))]
    assert stepped[0] == 1_700_000_000_000_000 and len(set(b - a for a, b in zip(stepped, stepped[1:]))) == 1


def test_a_chunk_longer_than_a_segment_is_split():
    big = bytes(range(256)) * (MAX_SEGMENT // 256 + 10)
    data = [s.payload for s in segments(pcapng_bytes([("client", big)])) if s.payload]
    assert [len(d) for d in data] == [MAX_SEGMENT, len(big) - MAX_SEGMENT] and b"".join(data) == big


@pytest.mark.parametrize("wrong, words", [
    (lambda: TcpEndpoints(client_ip="192.0.2.1"), "loopback"),
    (lambda: TcpEndpoints(server_port=0), "1-65535"),
    (lambda: pcapng_bytes(CHUNKS, times=[1.0]), "one per chunk"),
    (lambda: pcapng_bytes([("proxy", b"x")]), "'client' or 'server'"),
])
def test_wrong_input_is_refused_with_a_reason(wrong, words):
    with pytest.raises(UsageError, match=words):
        wrong()


# --------------------------------------------------------------------------------------------
# a real capture


@pytest.fixture(scope="module")
def trace13(server_cert, client_cert, ca):
    return capture_handshake(server_cert, client_cert, trust=ca)


def test_a_capture_keeps_its_real_ports_and_timing(trace13, tmp_path):
    path = trace13.write_pcapng(tmp_path / "mtls.pcapng")
    assert path.stat().st_mode & 0o777 == 0o600  # it holds the session keys
    found = segments(path.read_bytes())
    client_port, server_port = trace13.ports
    assert found[0].src_port == client_port and found[0].dst_port == server_port
    data = [s for s in found if s.payload]
    assert [s.time_us for s in data] == [round(t * 1e6) for t in trace13.chunk_times]
    assert [(s.src_port == client_port, s.payload) for s in data] == [
        (sender == "client", chunk) for sender, chunk in trace13.chunks]
    assert dict(blocks(path.read_bytes()))[DSB][8:].rstrip(b"\x00").decode() == trace13.keylog


# --------------------------------------------------------------------------------------------
# tshark


@pytest.fixture(scope="session")
def tshark() -> str:
    path = shutil.which("tshark")
    if path is None:
        pytest.skip("tshark is not installed (Debian: apt-get install tshark; make test installs it as root)")
    return path


def _capture(version, case, server_cert, client_cert, ca, other_ca):
    if case == "tls":
        return capture_handshake(server_cert, trust=ca, tls_version=version)
    if case == "mutual":
        return capture_handshake(server_cert, client_cert, trust=ca, tls_version=version)
    if case == "server not trusted":
        return capture_handshake(server_cert, trust=other_ca, tls_version=version)
    return capture_handshake(server_cert, client_cert, server_trust=other_ca, client_trust=ca, tls_version=version)


CASES = ["tls", "mutual", "server not trusted", "client not trusted"]
# The messages each side can only send encrypted: tshark lists them only if it decrypted them.
ENCRYPTED = {"1.3": {"EncryptedExtensions", "Finished"}, "1.2": {"Finished"}}


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("version", ["1.2", "1.3"])
def test_tshark_reads_the_messages_mtlslib_wire_reads_and_decrypts_them(tshark, version, case, server_cert,
                                                                      client_cert, ca, other_ca, tmp_path):
    trace = _capture(version, case, server_cert, client_cert, ca, other_ca)
    assert trace.result.ok == (case in ("tls", "mutual"))
    comparison = compare_with_tshark(trace, trace.write_pcapng(tmp_path / "capture.pcapng"))
    assert comparison.agree, str(comparison)
    seen = [(m.sender, m.name) for m in comparison.tshark]
    if not (version == "1.2" and case == "server not trusted"):  # there the client gives up before anyone encrypts
        assert ENCRYPTED[version] <= {name for _, name in seen}
    if case == "mutual":
        assert ("client", "Certificate") in seen and ("client", "CertificateVerify") in seen
    if case.endswith("not trusted"):
        sender = "client" if case == "server not trusted" else "server"
        assert seen[-1] == (sender, "unknown ca")
    if version == "1.2" and trace.result.ok:  # opened by tshark alone: mtlslib.wire has no TLS 1.2 keys yet
        assert [m.size for m in comparison.tshark if m.name == "Finished"] == [16, 16]


def test_comparing_several_files_at_once_gives_each_its_own_comparison_in_order(tshark, server_cert, client_cert,
                                                                                 ca, other_ca, tmp_path):
    traces = [_capture(version, case, server_cert, client_cert, ca, other_ca)
              for version, case in (("1.3", "mutual"), ("1.2", "tls"), ("1.3", "client not trusted"))]
    paths = [trace.write_pcapng(tmp_path / f"capture-{n}.pcapng") for n, trace in enumerate(traces)]
    together = compare_all_with_tshark(zip(traces, paths))
    assert [c.tshark for c in together] == [compare_with_tshark(t, p).tshark for t, p in zip(traces, paths)]
    assert [c.agree for c in together] == [True, True, True]
    assert ("client", "Certificate") in [(m.sender, m.name) for m in together[0].tshark]
    assert together[2].tshark[-1].name == "unknown ca" and len(together[1].tshark) != len(together[0].tshark)
    with pytest.raises(UsageError, match="tshark cannot read it"):
        compare_all_with_tshark([(traces[0], paths[0]), (traces[1], tmp_path)])


def test_one_tshark_reads_several_files_unless_two_captures_share_their_ports(tshark, server_cert, client_cert, ca,
                                                                           other_ca, tmp_path, monkeypatch):
    traces = [_capture(version, case, server_cert, client_cert, ca, other_ca)
              for version, case in (("1.3", "mutual"), ("1.2", "tls"), ("1.3", "server not trusted"))]
    paths = [trace.write_pcapng(tmp_path / f"capture-{n}.pcapng") for n, trace in enumerate(traces)]
    one_by_one = [compare_with_tshark(t, p).tshark for t, p in zip(traces, paths)]
    runs = []
    real_run = subprocess.run

    def counting_run(command, *args, **kwargs):
        runs.append(command)
        return real_run(command, *args, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting_run)
    assert [c.tshark for c in compare_all_with_tshark(zip(traces, paths))] == one_by_one
    banner = real_run([tshark, "--version"], capture_output=True).stdout
    version = re.search(rb"TShark \(Wireshark\) (\d+)\.(\d+)", banner)
    # Wireshark 4.0 numbers each packet's section; an older tshark that does not makes it read the files one by one.
    assert len(runs) == 1 if version and tuple(map(int, version.groups())) >= (4, 0) else len(runs) in (1, 4)
    # Written on the same (default) ports, two files would read as one TCP stream: one tshark each.
    same_ports = [tmp_path / f"same-ports-{n}.pcapng" for n in range(2)]
    for trace, path in zip(traces, same_ports):
        path.write_bytes(pcapng_bytes(trace.chunks, keylog=trace.keylog))
    runs.clear()
    comparisons = compare_all_with_tshark((dataclasses.replace(t, ports=(50000, 443)), p)
                                          for t, p in zip(traces, same_ports))
    assert len(runs) == 2 and [c.agree for c in comparisons] == [True, True]


def test_without_the_secrets_block_tshark_sees_only_the_clear_messages(tshark, trace13, tmp_path):
    path = tmp_path / "no-keys.pcapng"
    path.write_bytes(pcapng_bytes(trace13.chunks, endpoints=TcpEndpoints(*trace13.ports)))
    seen = [m.name for m in tshark_messages(path, trace13.ports[1])]
    assert seen == ["ClientHello", "ServerHello"]


def test_editcap_writes_the_same_secrets_block_in_the_same_place(tshark, trace13, tmp_path):
    editcap = shutil.which("editcap")
    if editcap is None:
        pytest.skip("editcap (part of Wireshark's tools) is not installed")
    bare, keys, injected = tmp_path / "bare.pcapng", tmp_path / "keys.txt", tmp_path / "injected.pcapng"
    bare.write_bytes(pcapng_bytes(trace13.chunks, times=trace13.chunk_times, endpoints=TcpEndpoints(*trace13.ports)))
    keys.write_text(trace13.keylog)
    subprocess.run([editcap, "--inject-secrets", f"tls,{keys}", str(bare), str(injected)], check=True,
                   capture_output=True, timeout=60)
    theirs = blocks(injected.read_bytes())
    ours = blocks(pcapng_bytes(trace13.chunks, keylog=trace13.keylog, times=trace13.chunk_times,
                               endpoints=TcpEndpoints(*trace13.ports)))
    assert [t for t, _ in theirs[:3]] == [t for t, _ in ours[:3]] == [SHB, DSB, IDB]
    assert theirs[1] == ours[1] == (DSB, decryption_secrets_block(trace13.keylog)[8:-4])


def test_tshark_finds_the_tcp_connection_sound(tshark, trace13, tmp_path):
    path = trace13.write_pcapng(tmp_path / "mtls.pcapng")
    # Checksums verified (off by default); any retransmission, gap or unseen ACK would raise a TCP analysis flag.
    done = subprocess.run([tshark, "-r", str(path), "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE",
                           "-T", "fields", "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
                           "-e", "tcp.analysis.flags"], capture_output=True, text=True, timeout=60, check=True)
    rows = [line.split("\t") for line in done.stdout.splitlines()]
    assert len(rows) == len(segments(path.read_bytes())) and set(map(tuple, rows)) == {("1", "1", "")}


# --------------------------------------------------------------------------------------------
# the command line


def run_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mtlslib", *map(str, args)], capture_output=True, text=True,
                          timeout=30)


def test_handshake_writes_the_pcapng_and_the_key_log(tmp_path):
    pcap, keys = tmp_path / "mtls12.pcapng", tmp_path / "keys.txt"
    result = run_cli("handshake", "--mtls", "--tls", "1.2", "--pcap", pcap, "--keylog", keys)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"wrote {pcap}: pcapng" in result.stdout and f"wrote {keys}: key log" in result.stdout
    assert pcap.stat().st_mode & 0o777 == keys.stat().st_mode & 0o777 == 0o600
    assert keys.read_text().count("CLIENT_RANDOM ") == 1
    secrets = dict(blocks(pcap.read_bytes()))[DSB]
    assert secrets[8:8 + struct.unpack_from("<I", secrets, 4)[0]].decode() == keys.read_text()
    assert any(s.payload for s in segments(pcap.read_bytes()))


@pytest.mark.parametrize("arguments, words", [
    (("--pcap", "{tmp}/missing/x.pcapng"), "no such directory"),
    (("--pcap", "{tmp}"), "is a directory"),
    (("--pcap", "{tmp}/same", "--keylog", "{tmp}/same"), "name the same file"),
])
def test_handshake_bad_output_paths_are_one_line_and_status_2(tmp_path, arguments, words):
    result = run_cli("handshake", *(argument.format(tmp=tmp_path) for argument in arguments))
    assert result.returncode == 2 and result.stdout == ""  # refused before any handshake
    assert len(result.stderr.splitlines()) == 1 and words in result.stderr, result.stderr
    assert not (tmp_path / "same").exists()
