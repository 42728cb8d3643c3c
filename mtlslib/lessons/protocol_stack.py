"""Where TLS sits under HTTP/1.1, HTTP/2 and HTTP/3: one table of layers, drawn and written out.

HTTP/1.1 (RFC 9112) and HTTP/2 (RFC 9113) run over TLS records over TCP; ALPN (RFC 7301) in the
hellos says which one. HTTP/3 (RFC 9114) runs over QUIC (RFC 9000) over UDP, and QUIC uses TLS 1.3
without its record layer (RFC 9001): the handshake messages travel in QUIC CRYPTO frames and QUIC
protects its packets itself, with keys taken from the TLS handshake. The picture and its text
alternative are made from the same table, so they cannot disagree.
"""

from __future__ import annotations

import graphviz

from mtlslib.errors import UsageError
from mtlslib.pki import IssuedCertificate, Trust
from mtlslib.tls import client_context, server_context

from .diagrams import Diagram
from .resumption import MemoryPair

__all__ = ["STACKS", "negotiate_alpn", "protocol_stack_diagram", "protocol_stack_text"]

# Each stack from the top down: (layer, what it does there). The ALPN name opens the first layer.
STACKS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    ("HTTP/1.1", "http/1.1", (
        ("HTTP/1.1", "one request at a time per connection, text headers"),
        ("TLS 1.3 records", "the handshake, then the HTTP bytes encrypted, in TLS records"),
        ("TCP", "one ordered byte stream, the kernel's"),
        ("IP", ""))),
    ("HTTP/2", "h2", (
        ("HTTP/2", "many requests as streams of binary frames on one connection"),
        ("TLS 1.3 records", "the same TLS as HTTP/1.1"),
        ("TCP", "one lost segment holds up every stream"),
        ("IP", ""))),
    ("HTTP/3", "h3", (
        ("HTTP/3", "requests on QUIC streams"),
        ("QUIC + TLS 1.3", "streams, loss recovery, packet protection; TLS 1.3 handshake messages in "
                           "CRYPTO frames, no TLS records"),
        ("UDP", "datagrams"),
        ("IP", ""))),
)
_TLS_COLOUR, _QUIC_COLOUR, _PLAIN_COLOUR = "#dbeafe", "#fef3c7", "#f3f4f6"


def protocol_stack_text() -> str:
    """The figure's text alternative: each stack from the top down."""
    lines = []
    for name, alpn, layers in STACKS:
        lines.append(f"{name} (ALPN \"{alpn}\"):")
        lines += [f"  {layer:<16} {role}".rstrip() for layer, role in layers]
    return "\n".join(lines)


def _colour(layer: str) -> str:
    return _TLS_COLOUR if layer.startswith("TLS") else _QUIC_COLOUR if layer.startswith("QUIC") else _PLAIN_COLOUR


def protocol_stack_diagram() -> Diagram:
    """The three stacks side by side; TLS (blue) and QUIC, which carries TLS's handshake (amber)."""
    title = "Where TLS sits (blue: TLS with its records; amber: QUIC, which carries TLS 1.3's handshake)"
    graph = graphviz.Digraph("protocol_stacks",
                             graph_attr={"rankdir": "TB", "nodesep": "0.25", "ranksep": "0.1", "fontname": "Helvetica",
                                         "labelloc": "t", "label": title},
                             node_attr={"shape": "box", "style": "rounded,filled", "fontname": "Helvetica",
                                        "fontsize": "11", "width": "2.4"},
                             edge_attr={"style": "invis"})  # the edges only stack the layers
    for index, (name, alpn, layers) in enumerate(STACKS):
        with graph.subgraph(name=f"cluster_{index}") as stack:
            stack.attr(label=f"{name}  (ALPN \"{alpn}\")", color="#e5e7eb", style="rounded", fontsize="12")
            nodes = [f"s{index}_{position}" for position in range(len(layers))]
            for node, (layer, _) in zip(nodes, layers):
                stack.node(node, layer, fillcolor=_colour(layer))
            for upper, lower in zip(nodes, nodes[1:]):
                stack.edge(upper, lower)
    return Diagram(graph)


def negotiate_alpn(server: IssuedCertificate, trust: Trust, *, client_offers: list[str],
                   server_accepts: list[str], server_hostname: str = "localhost") -> str | None:
    """A real TLS 1.3 handshake in memory (no socket): the application protocol the server picks
    from the client's ALPN list (OpenSSL's server takes its own order of preference), or None when
    the client offered none or the server accepts none of them. In that last case Python's ``ssl``
    goes on without ALPN; RFC 7301 (3.2) also allows a server to refuse with no_application_protocol."""
    if not server_accepts:
        raise UsageError("server_accepts needs at least one protocol name, e.g. ['h2', 'http/1.1']")
    server_ctx, client_ctx = server_context(server), client_context(trust)
    server_ctx.set_alpn_protocols(server_accepts)
    if client_offers:
        client_ctx.set_alpn_protocols(client_offers)
    pair = MemoryPair(server_ctx, client_ctx, None, server_hostname)
    pair.handshake()
    return pair.client.selected_alpn_protocol()
