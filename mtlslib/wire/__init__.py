"""Decoding captured TLS, sans I/O: bytes (and a key log) in, typed messages out.

Nothing here opens a socket or a file. :func:`decode_conversation` takes the chunks of a
connection in wire order; the layers below it -- records, handshake messages, the TLS 1.3 key
schedule -- are usable on their own, one idea per module:

* :mod:`.records` -- the record layer (5-byte header, reassembly across TCP chunks);
* :mod:`.messages` -- handshake messages and alerts as typed objects;
* :mod:`.keyschedule` -- HKDF-Expand-Label, record decryption, Finished and CertificateVerify;
* :mod:`.conversation` -- both directions together, in order, decrypted where possible, and the
  key-exchange group the server chose (:func:`negotiated_group`).
"""

from .conversation import Conversation, ConversationDecoder, WireMessage, decode_conversation, negotiated_group
from .keyschedule import Check
from .messages import parse_handshake
from .records import Record, RecordBuffer, read_records

__all__ = ["Check", "Conversation", "ConversationDecoder", "Record", "RecordBuffer", "WireMessage",
           "decode_conversation", "negotiated_group", "parse_handshake", "read_records"]
