"""Wireshark's reading of a capture: tshark (Wireshark's command-line twin) dissects a pcapng file that
:meth:`~mtlslib.tls.HandshakeTrace.write_pcapng` wrote, and its messages are set beside
:mod:`mtlslib.wire`'s.

tshark is optional: :func:`tshark_path` is ``None`` where it is not installed, and
:func:`compare_with_tshark` then says so instead of comparing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from mtlslib.display import Shown
from mtlslib.errors import UsageError
from mtlslib.wire.alerts import Alert
from mtlslib.wire.constants import ALERT_DESCRIPTIONS, HANDSHAKE_TYPES, name_of
from mtlslib.wire.conversation import OpaqueRecord
from mtlslib.wire.messages import HandshakeMessage
from mtlslib.wire.pcapng import BLOCK_SECTION_HEADER, TcpEndpoints

from .capture import HandshakeTrace

__all__ = ["Dissected", "TsharkComparison", "compare_all_with_tshark", "compare_with_tshark", "tshark_messages",
           "tshark_path", "wire_messages"]

FINISHED, ALERT = 20, 21  # a handshake type, a record content type
TSHARK_TIMEOUT = 60  # seconds: a handshake's file takes well under one


@dataclass(frozen=True)
class Dissected(Shown):
    """One handshake message or alert: who sent it, its type (the handshake type, or the alert's
    description) and its size, header included. ``None`` where the reader had no key to open it."""

    sender: str
    kind: str  # "handshake" or "alert"
    type: int | None
    size: int | None

    @property
    def name(self) -> str:
        if self.type is None:
            return f"encrypted {self.kind}"
        return name_of(HANDSHAKE_TYPES if self.kind == "handshake" else ALERT_DESCRIPTIONS, self.type)

    def __str__(self) -> str:
        size = "" if self.size is None else f" {self.size} B"
        return f"{self.sender} {self.name}{size}"


def tshark_path() -> str | None:
    return shutil.which("tshark")


def tshark_messages(path: str | Path, server_port: int) -> list[Dissected]:
    """Every handshake message and alert tshark dissects in ``path``, in the order of the file; the
    sender is told apart by the TCP source port. Decryption uses only what the file holds (its
    Decryption Secrets Block): the key log preference is pointed at an empty file."""
    return _messages(_dissect(path), server_port)


def _dissect(path: str | Path) -> list[ElementTree.Element]:
    """tshark's packets (PDML) of the file at ``path``."""
    tshark = tshark_path()
    if tshark is None:
        raise UsageError("tshark is not installed (Debian: apt-get install tshark)")
    done = subprocess.run([tshark, "-r", str(path), "-o", "tls.keylog_file:", "-T", "pdml"],
                          capture_output=True, timeout=TSHARK_TIMEOUT)
    if done.returncode != 0:
        raise UsageError(f"{path}: tshark cannot read it ({done.stderr.decode(errors='replace').strip()})")
    return list(ElementTree.fromstring(done.stdout).iter("packet"))


def _messages(packets: Iterable[ElementTree.Element], server_port: int) -> list[Dissected]:
    found: list[Dissected] = []
    for packet in packets:
        sender, handshake_type = None, None
        for element in packet.iter("field"):
            name, show = element.get("name"), element.get("show")
            if name == "tcp.srcport":
                sender = "server" if int(show) == server_port else "client"
            elif name == "tls.handshake.type":
                handshake_type = int(show)
            elif name == "tls.handshake.length" and handshake_type is not None:
                found.append(Dissected(sender, "handshake", handshake_type, int(show) + 4))
                handshake_type = None
            elif name == "tls.alert_message.desc":
                found.append(Dissected(sender, "alert", int(show), 2))
    return found


def wire_messages(trace: HandshakeTrace) -> list[Dissected]:
    """The same list from :mod:`mtlslib.wire`: every handshake message and alert it decoded, and each
    encrypted one it could not open: TLS 1.2's Finished, known by its place, and alerts, by their
    record's content type (sizes, and the alert's description, unknown)."""
    found = []
    for message in trace.conversation.messages:
        payload = message.payload
        if isinstance(payload, HandshakeMessage):
            found.append(Dissected(message.sender, "handshake", payload.msg_type, len(payload.raw)))
        elif isinstance(payload, Alert):
            found.append(Dissected(message.sender, "alert", payload.description, 2))
        elif isinstance(payload, OpaqueRecord) and payload.known_as == "Finished":
            found.append(Dissected(message.sender, "handshake", FINISHED, None))
        elif isinstance(payload, OpaqueRecord) and payload.content_type == ALERT:
            found.append(Dissected(message.sender, "alert", None, None))
    return found


@dataclass(frozen=True)
class TsharkComparison(Shown):
    wire: list[Dissected]
    tshark: list[Dissected] | None  # None: tshark is not installed

    @property
    def agree(self) -> bool:
        """Same messages, same senders, same order; the same sizes wherever both know them."""
        if self.tshark is None or len(self.tshark) != len(self.wire):
            return False
        return all(_same(ours, theirs) for ours, theirs in zip(self.wire, self.tshark))

    def __str__(self) -> str:
        if self.tshark is None:
            return ("tshark is not installed here, so there is nothing to compare with "
                    "(Debian and Ubuntu: sudo apt-get install tshark; or open the file in Wireshark)")
        handshake = sum(m.kind == "handshake" for m in self.tshark)
        alerts = len(self.tshark) - handshake
        if self.agree:
            unopened = sum(m.size is None for m in self.wire)
            beyond = (f"; tshark also opened the {unopened} records mtlslib.wire did not decrypt, whose sizes "
                      "are not compared" if unopened else "")
            return (f"tshark and mtlslib.wire agree: the same {handshake} handshake messages and {alerts} alerts, "
                    f"from the same senders, in the same order, of the same sizes wherever both opened them{beyond}")
        return "\n".join(["tshark and mtlslib.wire DISAGREE:", "  mtlslib.wire: " + ", ".join(map(str, self.wire)),
                          "  tshark:       " + ", ".join(map(str, self.tshark))])


def _same(ours: Dissected, theirs: Dissected) -> bool:
    def agree(a, b):
        return a is None or b is None or a == b

    return ((ours.sender, ours.kind) == (theirs.sender, theirs.kind) and agree(ours.type, theirs.type)
            and agree(ours.size, theirs.size))


def compare_with_tshark(trace: HandshakeTrace, path: str | Path) -> TsharkComparison:
    """Dissect ``path`` (the pcapng file of ``trace``) with tshark, and set its messages beside mtlslib.wire's."""
    return compare_all_with_tshark([(trace, path)])[0]


def compare_all_with_tshark(captures: Iterable[tuple[HandshakeTrace, str | Path]]) -> list[TsharkComparison]:
    """:func:`compare_with_tshark` for each (trace, file) pair, in order, with as few tshark
    processes as can read them: each spends most of its time starting up."""
    captures = list(captures)
    dissections: list[list[Dissected] | None] = [None] * len(captures)
    if tshark_path() is not None:
        dissections = _dissect_together(captures) or _dissect_side_by_side(captures)
    return [TsharkComparison(wire_messages(trace), dissected) for (trace, _), dissected in zip(captures, dissections)]


def _dissect_together(captures: list[tuple[HandshakeTrace, str | Path]]) -> list[list[Dissected]] | None:
    """One tshark for every file: pcapng files one after another make one file with a section each,
    and tshark numbers each packet's section. ``None`` where that cannot work: a single file, a
    file that is not pcapng, two captures on the same ports (tshark would follow them as one TCP
    stream), a tshark too old to number sections, or one that fails (read one by one, each file's
    error then names that file)."""
    endpoints = [trace.ports for trace, _ in captures]
    if len(captures) < 2 or not all(endpoints) or len(set(endpoints)) < len(endpoints):
        return None
    try:
        contents = [Path(path).read_bytes() for _, path in captures]
    except OSError:
        return None
    if not all(content.startswith(BLOCK_SECTION_HEADER.to_bytes(4, "little")) for content in contents):
        return None
    with tempfile.TemporaryDirectory(prefix="mtlslib-tshark-") as scratch:
        joined = Path(scratch) / "captures.pcapng"
        joined.write_bytes(b"".join(contents))
        try:
            packets = _dissect(joined)
        except (UsageError, OSError, subprocess.SubprocessError):
            return None
    sections: dict[int, list[ElementTree.Element]] = {}
    for packet in packets:
        number = next((field.get("show") for field in packet.iter("field")
                       if field.get("name") == "frame.section_number"), None)
        if number is None:
            return None
        sections.setdefault(int(number), []).append(packet)
    return [_messages(sections.get(index, []), _server_port(trace)) for index, (trace, _) in enumerate(captures, 1)]


def _dissect_side_by_side(captures: list[tuple[HandshakeTrace, str | Path]]) -> list[list[Dissected]]:
    with ThreadPoolExecutor(max_workers=max(1, min(len(captures), os.cpu_count() or 1))) as pool:
        running = [pool.submit(tshark_messages, path, _server_port(trace)) for trace, path in captures]
        return [dissection.result() for dissection in running]


def _server_port(trace: HandshakeTrace) -> int:
    return trace.ports[1] if trace.ports else TcpEndpoints().server_port
