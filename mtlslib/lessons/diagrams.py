"""Diagrams drawn from real data with graphviz: handshake sequences and certificate chains.

Every function returns a :class:`Diagram`. Jupyter shows it as a picture; its plain-text form is
the DOT source, which is what tests and nbval compare, because graphviz's SVG carries
version-dependent coordinates (the notebooks' sanitize file masks the SVG). Labels never contain
random bytes or sizes that change between runs (signatures, key shares), so the DOT of a seeded
handshake is the same on every run.
"""

from __future__ import annotations

import html
from typing import Iterable, Sequence, Union

import graphviz
from cryptography import x509

from mtlslib.display import describe_dot
from mtlslib.pki import (
    CertificateAuthority,
    IssuedCertificate,
    Trust,
    extension,
    key_type_of,
    oid_name,
    san_entries,
    trust_anchors,
)
from mtlslib.tls import HandshakeTrace
from mtlslib.wire import Conversation, WireMessage
from mtlslib.wire.constants import GROUPS, name_of
from mtlslib.wire.messages import (
    Alert,
    Certificate,
    CertificateRequest,
    CertificateVerify,
    ClientHello,
    CompressedCertificate,
    ServerHello,
    ServerKeyExchange,
)

__all__ = ["chain_diagram", "Diagram", "handshake_chain_diagram", "sequence_diagram", "side_by_side"]

# Colour is never the only cue (WCAG 1.4.1): encrypted messages are solid and bold, clear ones dashed,
# the failing message and fatal alerts dotted with a cross. Every colour has 4.5:1 contrast on white.
CLEAR, ENCRYPTED, ALERT, MUTED = "#222222", "#1d4ed8", "#dc2626", "#6b7280"
LINE_STYLES = {"clear": "dashed", "encrypted": "solid", "failed": "dotted"}
_CERTIFICATE_ALERTS = {42, 43, 44, 45, 46, 48, 49, 116}  # alerts that reject the peer's certificate
_FONT = "Helvetica"

TraceLike = Union[HandshakeTrace, Conversation]


class Diagram:
    """A graphviz graph that shows as a picture in Jupyter and as its DOT source everywhere else."""

    def __init__(self, graph: graphviz.Digraph):
        self.graph = graph

    @property
    def source(self) -> str:
        return self.graph.source

    @property
    def description(self) -> str:
        """The picture as text (its alt text): messages in order, certificates, captions."""
        return describe_dot(self.source)

    def pipe(self, format: str = "svg") -> bytes:
        """The rendered picture (needs graphviz's ``dot`` program); an SVG names itself for screen readers."""
        picture = self.graph.pipe(format=format)
        if format != "svg":
            return picture
        label = html.escape(self.description, quote=True).encode()
        return picture.replace(b"<svg ", b'<svg role="img" aria-label="' + label + b'" ', 1)

    def _repr_mimebundle_(self, include=None, exclude=None) -> tuple[dict[str, str], dict[str, dict]]:
        return ({"image/svg+xml": self.pipe("svg").decode("utf-8"), "text/plain": self.source},
                {"image/svg+xml": {"alt": self.description}})

    def __str__(self) -> str:
        return self.source


def _conversation(item: TraceLike) -> Conversation:
    return item.conversation if isinstance(item, HandshakeTrace) else item


def _detail(message: WireMessage) -> str:
    """A short, run-independent detail for a message label."""
    payload = message.payload
    if isinstance(payload, ClientHello):
        shares = ", ".join(group for group, _ in payload.key_shares)
        return f"key_share: {shares}" if shares else "offers " + "/".join(payload.supported_versions)
    if isinstance(payload, ServerHello):
        share = f", key_share: {payload.key_share[0]}" if payload.key_share else ""
        return f"{payload.selected_version}, {payload.cipher_suite_name}{share}"
    if isinstance(payload, CompressedCertificate):
        inside = payload.subjects[0] if payload.certificates else "not decodable here"
        return f"{payload.compression.algorithm_name}: {inside}"
    if isinstance(payload, Certificate):
        return payload.subjects[0] if payload.certificates else "(empty: no certificate)"
    if isinstance(payload, CertificateVerify):
        return payload.scheme_name
    if isinstance(payload, ServerKeyExchange):
        return f"{name_of(GROUPS, payload.group)} key share, signed"
    if isinstance(payload, CertificateRequest):
        return "please send a certificate"
    if isinstance(payload, Alert):
        return payload.description_name
    return ""


def _failed_index(conversation: Conversation) -> int | None:
    """The message that made the handshake fail: for a certificate alert, the certificate it
    rejects (the last one the alerting side received); for any other fatal alert, the alert."""
    for index, message in enumerate(conversation.messages):
        payload = message.payload
        if isinstance(payload, Alert) and payload.level == 2:
            if payload.description in _CERTIFICATE_ALERTS:
                for earlier in range(index - 1, -1, -1):
                    previous = conversation.messages[earlier]
                    if previous.sender != message.sender and isinstance(previous.payload, Certificate):
                        return earlier
            return index
    return None


def _after_the_handshake(message: WireMessage) -> bool:
    """Application data and the closing close_notify alerts: the use of the connection, not its set-up."""
    payload = message.payload
    return message.name in ("ApplicationData", "EncryptedRecord") or (
        isinstance(payload, Alert) and payload.description == 0)


def _label(name: str, detail: str, color: str, bold: bool) -> str:
    name = f"<B>{html.escape(name)}</B>" if bold else html.escape(name)
    detail_row = f'<BR/><FONT POINT-SIZE="9">{html.escape(detail)}</FONT>' if detail else ""
    return f'<<FONT COLOR="{color}">{name}{detail_row}</FONT>>'


def _sequence_into(graph: graphviz.Digraph, conversation: Conversation, prefix: str,
                   include_application_data: bool) -> str:
    """Draw the lanes and messages; return the bottom node of the left column (to hang a legend)."""
    messages = [m for m in conversation.messages if include_application_data or not _after_the_handshake(m)]
    failed = _failed_index(conversation)
    failed_message = conversation.messages[failed] if failed is not None else None
    graph.node(f"{prefix}flight_head", "", shape="plaintext")
    graph.node(f"{prefix}client_head", "client", shape="box", style="rounded,filled", fillcolor="#f3f4f6")
    graph.node(f"{prefix}server_head", "server", shape="box", style="rounded,filled", fillcolor="#f3f4f6")
    with graph.subgraph() as row:
        row.attr(rank="same")
        for lane in ("flight", "client", "server"):
            row.node(f"{prefix}{lane}_head")
    graph.edge(f"{prefix}flight_head", f"{prefix}client_head", style="invis")
    graph.edge(f"{prefix}client_head", f"{prefix}server_head", style="invis", minlen="4")
    flight, previous_sender = 0, None
    for i, message in enumerate(messages, 1):
        starts_flight = message.sender != previous_sender
        previous_sender = message.sender
        flight += starts_flight
        with graph.subgraph() as row:
            row.attr(rank="same")
            row.node(f"{prefix}flight_{i}", f"flight {flight}" if starts_flight else "", shape="plaintext",
                     fontsize="9", fontcolor=MUTED)
            row.node(f"{prefix}client_{i}", "", shape="point", width="0.01")
            row.node(f"{prefix}server_{i}", "", shape="point", width="0.01")
        is_failed = message is failed_message
        fatal = is_failed or (isinstance(message.payload, Alert) and message.payload.level == 2)
        if fatal:
            color = ALERT
        elif message.name in ("ChangeCipherSpec", "ApplicationData", "EncryptedRecord"):
            color = MUTED
        else:
            color = ENCRYPTED if message.encrypted else CLEAR
        name = ("\u2717 " if is_failed else "") + message.name
        # Every row's edges run client -> server so that dot keeps the client lane on the left;
        # a server's message is the same edge drawn with its arrow at the client end.
        graph.edge(f"{prefix}flight_{i}", f"{prefix}client_{i}", style="invis")
        graph.edge(f"{prefix}client_{i}", f"{prefix}server_{i}",
                   label=_label(name, _detail(message), color, bold=message.encrypted or is_failed),
                   color=color, penwidth="2.2" if message.encrypted else "1.2",
                   dir="forward" if message.sender == "client" else "back",
                   style=LINE_STYLES["failed" if fatal else "encrypted" if message.encrypted else "clear"],
                   minlen="4")
    for lane in ("flight", "client", "server"):
        chain = [f"{prefix}{lane}_head"] + [f"{prefix}{lane}_{i}" for i in range(1, len(messages) + 1)]
        for upper, lower in zip(chain, chain[1:]):
            graph.edge(upper, lower, style="invis" if lane == "flight" else "solid", color="#d1d5db",
                       arrowhead="none", weight="100")
    return f"{prefix}flight_{len(messages)}" if messages else f"{prefix}flight_head"


def _new_graph(name: str, title: str | None) -> graphviz.Digraph:
    graph = graphviz.Digraph(name, graph_attr={"rankdir": "TB", "nodesep": "0.3", "ranksep": "0.28",
                                               "fontname": _FONT, "labelloc": "t"},
                             node_attr={"fontname": _FONT, "fontsize": "11"},
                             edge_attr={"fontname": _FONT, "fontsize": "11"})
    if title:
        graph.attr(label=title, fontsize="14")
    return graph


def _legend_into(graph: graphviz.Digraph, below: str) -> None:
    rows = [("- - - clear text (dashed)", CLEAR), ("\u2501\u2501 encrypted (solid, bold)", ENCRYPTED),
            ("\u00b7 \u00b7 \u00b7 \u2717 failed / fatal alert (dotted)", ALERT),
            ("grey: record-layer bookkeeping", MUTED)]
    cells = "".join(f'<TD><FONT COLOR="{color}">{html.escape(text)}</FONT></TD>' for text, color in rows)
    graph.node("legend", f'<<TABLE BORDER="0" CELLSPACING="8"><TR>{cells}</TR></TABLE>>', shape="plaintext",
               fontsize="10")
    graph.edge(below, "legend", style="invis")


def sequence_diagram(trace: TraceLike, *, title: str | None = None, include_application_data: bool = False,
                     legend: bool = True) -> Diagram:
    """A sequence diagram of a captured handshake: client and server lanes, messages in wire
    order, flights numbered; encrypted messages solid, bold and blue, clear ones dashed, the failing
    message and fatal alerts dotted, red and crossed."""
    graph = _new_graph("handshake", title)
    bottom = _sequence_into(graph, _conversation(trace), "", include_application_data)
    if legend:
        _legend_into(graph, bottom)
    return Diagram(graph)


def side_by_side(panels: Sequence[tuple[str, TraceLike]], *, title: str | None = None,
                 include_application_data: bool = False) -> Diagram:
    """Several sequence diagrams next to each other, e.g. TLS vs mutual TLS, or TLS 1.2 vs 1.3."""
    graph = _new_graph("comparison", title)
    bottom = None
    for index, (caption, trace) in enumerate(panels):
        with graph.subgraph(name=f"cluster_{index}") as panel:
            panel.attr(label=caption, fontsize="13", color="#e5e7eb", style="rounded")
            bottom = _sequence_into(panel, _conversation(trace), f"p{index}_", include_application_data)
    if bottom is not None:
        _legend_into(graph, bottom)
    return Diagram(graph)


# --------------------------------------------------------------------------------------------
# Certificate chains


def _certificate_rows(cert: x509.Certificate) -> list[tuple[str, str]]:
    constraints = extension(cert, x509.BasicConstraints)
    eku = extension(cert, x509.ExtendedKeyUsage)
    ski = extension(cert, x509.SubjectKeyIdentifier)
    aki = extension(cert, x509.AuthorityKeyIdentifier)
    if constraints is not None and constraints.ca:
        ca = "CA" + ("" if constraints.path_length is None else f", path length {constraints.path_length}")
    else:
        ca = "not a CA"
    rows = [
        ("subject", cert.subject.rfc4514_string() or "(empty)"),
        ("issuer", cert.issuer.rfc4514_string() or "(empty)"),
        ("valid", f"{cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}"),
        ("basicConstraints", ca),
    ]
    if eku is not None:
        rows.append(("extKeyUsage", ", ".join(oid_name(o) for o in eku)))
    if san_entries(cert):
        rows.append(("SAN", ", ".join(san_entries(cert))))
    rows.append(("key", key_type_of(cert.public_key())))
    if ski is not None:
        rows.append(("SKI", ski.digest.hex()[:16] + "\u2026"))
    if aki is not None and aki.key_identifier is not None:
        rows.append(("AKI", aki.key_identifier.hex()[:16] + "\u2026"))
    return rows


def _certificate_node(graph, node_id: str, cert: x509.Certificate, heading: str, fill: str) -> None:
    body = "".join(f'<TR><TD ALIGN="LEFT"><FONT COLOR="#6b7280">{html.escape(k)}</FONT></TD>'
                   f'<TD ALIGN="LEFT">{html.escape(v)}</TD></TR>' for k, v in _certificate_rows(cert))
    label = (f'<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="2" CELLPADDING="3" BGCOLOR="{fill}">'
             f'<TR><TD COLSPAN="2"><B>{html.escape(heading)}</B></TD></TR>{body}</TABLE>>')
    graph.node(node_id, label, shape="plaintext")


def _as_certificates(chain) -> list[x509.Certificate]:
    if isinstance(chain, (IssuedCertificate, CertificateAuthority)):
        return [chain.certificate, *chain.chain]
    return list(chain)


def _roots(trust: Trust | None) -> list[x509.Certificate]:
    """The trust anchors, as every TLS context of mtlslib reads ``trust`` (None: no trust store drawn)."""
    return [] if trust is None else list(trust_anchors(trust))


def _chain_into(graph, prefix: str, chain: list[x509.Certificate], roots: list[x509.Certificate],
                presented_by: str | None) -> None:
    nodes = []
    for index, cert in enumerate(chain):
        heading = "leaf" if index == 0 else "intermediate CA"
        if presented_by:
            heading += f" (sent by the {presented_by})"
        _certificate_node(graph, f"{prefix}cert{index}", cert, heading, "#eff6ff" if index == 0 else "#f5f3ff")
        nodes.append((f"{prefix}cert{index}", cert))
    anchor = next((r for r in roots if chain and r.subject == chain[-1].issuer), None)
    # An anchor may also be in the chain itself (an intermediate trusted as itself): the path ends there.
    pinned = next((r for r in roots if r in chain), None) if anchor is None else None
    for index, root in enumerate(roots):
        _certificate_node(graph, f"{prefix}root{index}", root, "trust anchor (in the verifier's store)", "#ecfdf5")
    for (child_id, child), (parent_id, _parent) in zip(nodes, nodes[1:]):
        graph.edge(parent_id, child_id, label="signed", fontsize="10")
    if chain and anchor is not None:
        graph.edge(f"{prefix}root{roots.index(anchor)}", nodes[-1][0], label="signed", fontsize="10")
    elif pinned is not None:
        graph.edge(f"{prefix}root{roots.index(pinned)}", f"{prefix}cert{chain.index(pinned)}",
                   label="same certificate", style="dashed", fontsize="10")
    elif chain and roots:
        graph.node(f"{prefix}missing", f"no trusted issuer for\n{chain[-1].issuer.rfc4514_string()}",
                   shape="box", style="dashed", color=ALERT, fontcolor=ALERT)
        graph.edge(f"{prefix}missing", nodes[-1][0], style="dashed", color=ALERT, label="?", fontcolor=ALERT)


def chain_diagram(chain: Union[IssuedCertificate, CertificateAuthority, Iterable[x509.Certificate]], *,
                  trust: Trust | None = None, title: str | None = None) -> Diagram:
    """Root -> intermediate(s) -> leaf, each box with the fields verification uses.

    ``chain`` is what a peer presents (leaf first); ``trust`` the verifier's trust anchors, read as
    :func:`mtlslib.pki.trust_anchors` reads them (a CA is trusted as itself, root or intermediate).
    A chain whose top has no issuer among the anchors, and holds no anchor itself, ends in a red
    question mark.
    """
    graph = _new_graph("chain", title)
    graph.attr(rankdir="TB")
    _chain_into(graph, "", _as_certificates(chain), _roots(trust), None)
    return Diagram(graph)


def handshake_chain_diagram(trace: HandshakeTrace, *, title: str | None = None) -> Diagram:
    """Who presented which chain in a captured handshake, and which trust store checked it."""
    conversation = trace.conversation
    graph = _new_graph("handshake_chains", title)
    for sender, checker in (("server", "client"), ("client", "server")):
        certificate = conversation.certificate(sender)  # compressed or not
        if certificate is None or not certificate.certificates:
            continue
        with graph.subgraph(name=f"cluster_{sender}") as panel:
            verdict = getattr(trace.result, f"{checker}_saw")
            outcome = "accepted" if verdict.peer_subject is not None else "refused" if verdict.error else "not checked"
            panel.attr(label=f"the {sender}'s chain, checked by the {checker}'s trust store: {outcome}",
                       color="#e5e7eb", style="rounded")
            _chain_into(panel, f"{sender}_", list(certificate.parsed()), _roots(trace.trust.get(checker)), sender)
    return Diagram(graph)
