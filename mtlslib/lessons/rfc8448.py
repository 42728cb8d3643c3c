"""The published values of RFC 8448 ("Example Handshake Traces for TLS 1.3", M. Thomson, January
2019), for the chapters that derive them again:

* section 3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256, X25519): the two ephemeral X25519 key
  pairs the RFC prints, the six handshake messages up to the server's Finished (the bytes the
  transcript hashes cover) and the values it prints for each step of the key schedule
  (:data:`CLIENT_PRIVATE_KEY` ... :data:`PRINTED`), under the names of its "{server} derive ..."
  and "{server} extract ..." lines; and what section 4 resumes from (:data:`SECTION3`);
* section 4, "Resumed 0-RTT Handshake": every record as the RFC prints it ("complete record",
  :data:`RECORDS`) and each intermediate value under its RFC name (:data:`SECTION4`, :func:`value`).
  Python's ``ssl`` cannot send early data, so the course decodes 0-RTT on these bytes.

The tests recompute every value from the inputs (the X25519 private keys and the PSK) and open
every record, so a copying mistake cannot pass unnoticed.

Copyright (c) 2019 IETF Trust and the persons identified as the document authors. All rights
reserved. Code Components extracted from RFC 8448 are provided under the Simplified BSD License
(IETF Trust Legal Provisions, section 4.e, https://trustee.ietf.org/license-info), without warranty.
"""

from __future__ import annotations

__all__ = ["CLIENT_PRIVATE_KEY", "CLIENT_PUBLIC_KEY", "MESSAGES", "PRINTED", "RECORDS", "SECTION3", "SECTION4",
           "SERVER_PRIVATE_KEY", "SERVER_PUBLIC_KEY", "value"]

# --------------------------------------------------------------------------------------------
# Section 3: the simple 1-RTT handshake

# {client} create an ephemeral x25519 key pair
CLIENT_PRIVATE_KEY = bytes.fromhex("""
    49 af 42 ba 7f 79 94 85 2d 71 3e f2 78 4b cb ca a7 91 1d e2 6a dc 56 42 cb 63 45 40 e7 ea 50 05""")
CLIENT_PUBLIC_KEY = bytes.fromhex("""
    99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c""")

# {server} create an ephemeral x25519 key pair
SERVER_PRIVATE_KEY = bytes.fromhex("""
    b1 58 0e ea df 6d d5 89 b8 ef 4f 2d 56 52 57 8c c8 10 e9 98 01 91 ec 8d 05 83 08 ce a2 16 a2 1e""")
SERVER_PUBLIC_KEY = bytes.fromhex("""
    c9 82 88 76 11 20 95 fe 66 76 2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f""")

# The handshake messages, in order, each with its 4-byte header, as the RFC's "construct a ...
# handshake message" lines print them (196, 90, 40, 445, 136 and 36 bytes).
MESSAGES = {
    "ClientHello": bytes.fromhex("""
        01 00 00 c0 03 03 cb 34 ec b1 e7 81 63 ba 1c 38 c6 da cb 19 6a 6d ff a2 1a 8d 99 12 ec 18 a2
        ef 62 83 02 4d ec e7 00 00 06 13 01 13 03 13 02 01 00 00 91 00 00 00 0b 00 09 00 00 06 73 65
        72 76 65 72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03
        01 04 00 23 00 00 00 33 00 26 00 24 00 1d 00 20 99 38 1d e5 60 e4 bd 43 d2 3d 8e 43 5a 7d ba
        fe b3 c0 6e 51 c1 3c ae 4d 54 13 69 1e 52 9a af 2c 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04
        03 05 03 06 03 02 03 08 04 08 05 08 06 04 01 05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d
        00 02 01 01 00 1c 00 02 40 01"""),
    "ServerHello": bytes.fromhex("""
        02 00 00 56 03 03 a6 af 06 a4 12 18 60 dc 5e 6e 60 24 9c d3 4c 95 93 0c 8a c5 cb 14 34 da c1
        55 77 2e d3 e2 69 28 00 13 01 00 00 2e 00 33 00 24 00 1d 00 20 c9 82 88 76 11 20 95 fe 66 76
        2b db f7 c6 72 e1 56 d6 cc 25 3b 83 3d f1 dd 69 b1 b0 4e 75 1f 0f 00 2b 00 02 03 04"""),
    "EncryptedExtensions": bytes.fromhex("""
        08 00 00 24 00 22 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00
        1c 00 02 40 01 00 00 00 00"""),
    "Certificate": bytes.fromhex("""
        0b 00 01 b9 00 00 01 b5 00 01 b0 30 82 01 ac 30 82 01 15 a0 03 02 01 02 02 01 02 30 0d 06 09
        2a 86 48 86 f7 0d 01 01 0b 05 00 30 0e 31 0c 30 0a 06 03 55 04 03 13 03 72 73 61 30 1e 17 0d
        31 36 30 37 33 30 30 31 32 33 35 39 5a 17 0d 32 36 30 37 33 30 30 31 32 33 35 39 5a 30 0e 31
        0c 30 0a 06 03 55 04 03 13 03 72 73 61 30 81 9f 30 0d 06 09 2a 86 48 86 f7 0d 01 01 01 05 00
        03 81 8d 00 30 81 89 02 81 81 00 b4 bb 49 8f 82 79 30 3d 98 08 36 39 9b 36 c6 98 8c 0c 68 de
        55 e1 bd b8 26 d3 90 1a 24 61 ea fd 2d e4 9a 91 d0 15 ab bc 9a 95 13 7a ce 6c 1a f1 9e aa 6a
        f9 8c 7c ed 43 12 09 98 e1 87 a8 0e e0 cc b0 52 4b 1b 01 8c 3e 0b 63 26 4d 44 9a 6d 38 e2 2a
        5f da 43 08 46 74 80 30 53 0e f0 46 1c 8c a9 d9 ef bf ae 8e a6 d1 d0 3e 2b d1 93 ef f0 ab 9a
        80 02 c4 74 28 a6 d3 5a 8d 88 d7 9f 7f 1e 3f 02 03 01 00 01 a3 1a 30 18 30 09 06 03 55 1d 13
        04 02 30 00 30 0b 06 03 55 1d 0f 04 04 03 02 05 a0 30 0d 06 09 2a 86 48 86 f7 0d 01 01 0b 05
        00 03 81 81 00 85 aa d2 a0 e5 b9 27 6b 90 8c 65 f7 3a 72 67 17 06 18 a5 4c 5f 8a 7b 33 7d 2d
        f7 a5 94 36 54 17 f2 ea e8 f8 a5 8c 8f 81 72 f9 31 9c f3 6b 7f d6 c5 5b 80 f2 1a 03 01 51 56
        72 60 96 fd 33 5e 5e 67 f2 db f1 02 70 2e 60 8c ca e6 be c1 fc 63 a4 2a 99 be 5c 3e b7 10 7c
        3c 54 e9 b9 eb 2b d5 20 3b 1c 3b 84 e0 a8 b2 f7 59 40 9b a3 ea c9 d9 1d 40 2d cc 0c c8 f8 96
        12 29 ac 91 87 b4 2b 4d e1 00 00"""),
    "CertificateVerify": bytes.fromhex("""
        0f 00 00 84 08 04 00 80 5a 74 7c 5d 88 fa 9b d2 e5 5a b0 85 a6 10 15 b7 21 1f 82 4c d4 84 14
        5a b3 ff 52 f1 fd a8 47 7b 0b 7a bc 90 db 78 e2 d3 3a 5c 14 1a 07 86 53 fa 6b ef 78 0c 5e a2
        48 ee aa a7 85 c4 f3 94 ca b6 d3 0b be 8d 48 59 ee 51 1f 60 29 57 b1 54 11 ac 02 76 71 45 9e
        46 44 5c 9e a5 8c 18 1e 81 8e 95 b8 c3 fb 0b f3 27 84 09 d3 be 15 2a 3d a5 04 3e 06 3d da 65
        cd f5 ae a2 0d 53 df ac d4 2f 74 f3"""),
    "Finished": bytes.fromhex("""
        14 00 00 20 9b 9b 14 1d 90 63 37 fb d2 cb dc e7 1d f4 de da 4a b4 2c 30 95 72 cb 7f ff ee 54
        54 b7 8f 07 18"""),
}

# What the RFC prints, in the order of its trace: the "secret" of each extract, the "expanded"
# output of each derive, the "hash" (transcript hash) each derive takes as its context.
PRINTED = {
    "early secret": bytes.fromhex("""
        33 ad 0a 1c 60 7e c0 3b 09 e6 cd 98 93 68 0c e2 10 ad f3 00 aa 1f 26 60 e1 b2 2e 10 f1 70 f9 2a"""),
    "derived for handshake": bytes.fromhex("""
        6f 26 15 a1 08 c7 02 c5 67 8f 54 fc 9d ba b6 97 16 c0 76 18 9c 48 25 0c eb ea c3 57 6c 36 11 ba"""),
    "X25519 shared secret": bytes.fromhex("""
        8b d4 05 4f b5 5b 9d 63 fd fb ac f9 f0 4b 9f 0d 35 e6 d6 3f 53 75 63 ef d4 62 72 90 0f 89 49 2d"""),
    "handshake secret": bytes.fromhex("""
        1d c8 26 e9 36 06 aa 6f dc 0a ad c1 2f 74 1b 01 04 6a a6 b9 9f 69 1e d2 21 a9 f0 ca 04 3f be ac"""),
    "hash ClientHello..ServerHello": bytes.fromhex("""
        86 0c 06 ed c0 78 58 ee 8e 78 f0 e7 42 8c 58 ed d6 b4 3f 2c a3 e6 e9 5f 02 ed 06 3c f0 e1 ca d8"""),
    "c hs traffic": bytes.fromhex("""
        b3 ed db 12 6e 06 7f 35 a7 80 b3 ab f4 5e 2d 8f 3b 1a 95 07 38 f5 2e 96 00 74 6a 0e 27 a5 5a 21"""),
    "s hs traffic": bytes.fromhex("""
        b6 7b 7d 69 0c c1 6c 4e 75 e5 42 13 cb 2d 37 b4 e9 c9 12 bc de d9 10 5d 42 be fd 59 d3 91 ad 38"""),
    "derived for master": bytes.fromhex("""
        43 de 77 e0 c7 77 13 85 9a 94 4d b9 db 25 90 b5 31 90 a6 5b 3e e2 e4 f1 2d d7 a0 bb 7c e2 54 b4"""),
    "master secret": bytes.fromhex("""
        18 df 06 84 3d 13 a0 8b f2 a4 49 84 4c 5f 8a 47 80 01 bc 4d 4c 62 79 84 d5 a4 1d a8 d0 40 29 19"""),
    "hash ClientHello..server Finished": bytes.fromhex("""
        96 08 10 2a 0f 1c cc 6d b6 25 0b 7b 7e 41 7b 1a 00 0e aa da 3d aa e4 77 7a 76 86 c9 ff 83 df 13"""),
    "c ap traffic": bytes.fromhex("""
        9e 40 64 6c e7 9a 7f 9d c0 5a f8 88 9b ce 65 52 87 5a fa 0b 06 df 00 87 f7 92 eb b7 c1 75 04 a5"""),
    "s ap traffic": bytes.fromhex("""
        a1 1a f9 f0 55 31 f8 56 ad 47 11 6b 45 a9 50 32 82 04 b4 f4 4b fb 6b 3a 4b 4f 1f 3f cb 63 16 43"""),
    "exp master": bytes.fromhex("""
        fe 22 f8 81 17 6e da 18 eb 8f 44 52 9e 67 92 c5 0c 9a 3f 89 45 2f 68 d8 ae 31 1b 43 09 d3 cf 50"""),
    # {server} derive write traffic keys for handshake data
    "server handshake key": bytes.fromhex("3f ce 51 60 09 c2 17 27 d0 f2 e4 e8 6e e4 03 bc"),
    "server handshake iv": bytes.fromhex("5d 31 3e b2 67 12 76 ee 13 00 0b 30"),
    # {server} calculate finished "tls13 finished"
    "server finished key": bytes.fromhex("""
        00 8d 3b 66 f8 16 ea 55 9f 96 b5 37 e8 85 c3 1f c0 68 bf 49 2c 65 2f 01 f2 88 a1 d8 cd c1 9f c8"""),
}


# --------------------------------------------------------------------------------------------
# Section 4: the resumed 0-RTT handshake


def value(name: str) -> bytes:
    """One value of section 4 (or 3) as bytes."""
    return bytes.fromhex({**SECTION3, **SECTION4}[name])


SECTION3 = {  # the first, full handshake: what the ticket of section 4 comes from
    "resumption_master_secret": "7df235f2031d2a051287d02b0241b0bfdaf86cc856231f2d5aba46c434ec196c",
    "new_session_ticket": (
        "04 00 00 c9 00 00 00 1e fa d6 aa c5 02 00 00 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00 00 26"
        "2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be 78 5a bc 55 cd 22"
        "60 97 a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c ce 14 50"
        "77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90"
        "6c 5b 3f 7d 8f 92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6"
        "21 a7 91 41 ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3 57 00 08 00 2a 00 04 00 00 04"
        "00"),
}

SECTION4 = {  # the resumed 0-RTT handshake, in the order the RFC derives them
    "client_private_key": "bff91188283846dd6a2134ef7180ca2b0b14fb10dce707b5098c0dddc813b2df",
    "server_private_key": "de5b4476e7b490b2652d338acbf2948066f255f9440e23b98fc69835298dc107",
    "psk": "4ecd0eb6ec3b4d87f5d6028f922ca4c5851a277fd41311c9e62d2c9492e1c4f3",
    "early_secret": "9b2188e9b2fc6d64d71dc329900e20bb41915000f678aa839cbb797cb7d8332c",
    "binder_hash": "63224b2e4573f2d3454ca84b9d009a04f6be9e05711a8396473aefa01e924a14",
    "binder_key": "69fe131a3bbad5d63c64eebcc30e395b9d8107726a13d074e389dbc8a4e47256",
    "binder_finished_key": "5588673e72cb59c87d220caffe94f2dea9a3b1609f7d50e90a48227db9ed7eaa",
    "binder": "3add4fb2d8fdf822a0ca3cf7678ef5e88dae990141c5924d57bb6fa31b9e5f9d",
    "client_early_traffic_secret": "3fbbe6a60deb66c30a32795aba0eff7eaa10105586e7be5c09678d63b6caab62",
    "early_exporter_master_secret": "b2026866610937d7423e5be90862ccf24c0e6091186d34f812089ff5be2ef7df",
    "early_key": "920205a5b7bf2115e6fc5c2942834f54",
    "early_iv": "6d475f0993c8e564610db2b9",
    "derived_for_handshake": "5f1790bbd82c5e7d376ed2e1e52f8e6038c9346db61b43be9a52f77ef3998e80",
    "handshake_secret": "005cb112fd8eb4ccc623bb88a07c64b3ede1605363fc7d0df8c7ce4ff0fb4ae6",
    "client_handshake_traffic_secret": "2faac08f851d35fea3604fcb4de82dc62c9b164a70974d0462e27f1ab278700f",
    "server_handshake_traffic_secret": "fe927ae271312e8bf0275b581c54eef020450dc4ecffaa05a1a35d27518e7803",
    "server_handshake_key": "27c6bdc0a3dcea39a47326d79bc9e4ee",
    "server_handshake_iv": "9569ecdd4d0536705e9ef725",
    "client_application_traffic_secret_0": "2abbf2b8e381d23dbebe1dd2a7d16a8bf484cb4950d23fb7fb7fa8547062d9a1",
    "server_application_traffic_secret_0": "cc21f1bf8feb7dd5fa505bd9c4b468a9984d554a993dc49e6d285598fb672691",
    "exporter_master_secret": "3fd93d4ffddc98e64b14dd107aedf8ee4add23f4510f58a4592d0b201bee56b4",
    "server_application_key": "e857c690a34c5a9129d833619684f95e",
    "server_application_iv": "0685d6b561aab9ef1013faf9",
}

# (sender, complete record) in wire order.
RECORDS = (
    ("client",  # ClientHello, with the ticket of section 3 and its binder
     "16 03 01 02 00 01 00 01 fc 03 03 1b c3 ce b6 bb e3 9c ff 93 83 55 b5 a5 0a db 6d b2 1b 7a 6a f6 49 d7 b4"
     "bc 41 9d 78 76 48 7d 95 00 00 06 13 01 13 03 13 02 01 00 01 cd 00 00 00 0b 00 09 00 00 06 73 65 72 76 65"
     "72 ff 01 00 01 00 00 0a 00 14 00 12 00 1d 00 17 00 18 00 19 01 00 01 01 01 02 01 03 01 04 00 33 00 26 00"
     "24 00 1d 00 20 e4 ff b6 8a c0 5f 8d 96 c9 9d a2 66 98 34 6c 6b e1 64 82 ba dd da fe 05 1a 66 b4 f1 8d 66"
     "8f 0b 00 2a 00 00 00 2b 00 03 02 03 04 00 0d 00 20 00 1e 04 03 05 03 06 03 02 03 08 04 08 05 08 06 04 01"
     "05 01 06 01 02 01 04 02 05 02 06 02 02 02 00 2d 00 02 01 01 00 1c 00 02 40 01 00 15 00 57 00 00 00 00 00"
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     "00 00 00 00 00 00 00 00 00 00 00 00 00 29 00 dd 00 b8 00 b2 2c 03 5d 82 93 59 ee 5f f7 af 4e c9 00 00 00"
     "00 26 2a 64 94 dc 48 6d 2c 8a 34 cb 33 fa 90 bf 1b 00 70 ad 3c 49 88 83 c9 36 7c 09 a2 be 78 5a bc 55 cd"
     "22 60 97 a3 a9 82 11 72 83 f8 2a 03 a1 43 ef d3 ff 5d d3 6d 64 e8 61 be 7f d6 1d 28 27 db 27 9c ce 14 50"
     "77 d4 54 a3 66 4d 4e 6d a4 d2 9e e0 37 25 a6 a4 da fc d0 fc 67 d2 ae a7 05 29 51 3e 3d a2 67 7f a5 90 6c"
     "5b 3f 7d 8f 92 f2 28 bd a4 0d da 72 14 70 f9 fb f2 97 b5 ae a6 17 64 6f ac 5c 03 27 2e 97 07 27 c6 21 a7"
     "91 41 ef 5f 7d e6 50 5e 5b fb c3 88 e9 33 43 69 40 93 93 4a e4 d3 57 fa d6 aa cb 00 21 20 3a dd 4f b2 d8"
     "fd f8 22 a0 ca 3c f7 67 8e f5 e8 8d ae 99 01 41 c5 92 4d 57 bb 6f a3 1b 9e 5f 9d"),
    ("client",  # 0-RTT application data, under client_early_traffic_secret
     "17 03 03 00 17 ab 1d f4 20 e7 5c 45 7a 7c c5 d2 84 4f 76 d5 ae e4 b4 ed bf 04 9b e0"),
    ("server",  # ServerHello
     "16 03 03 00 60 02 00 00 5c 03 03 3c cf d2 de c8 90 22 27 63 47 2a e8 13 67 77 c9 d7 35 87 77 bb 66"
     "e9 1e a5 12 24 95 f5 59 ea 2d 00 13 01 00 00 34 00 29 00 02 00 00 00 33 00 24 00 1d 00 20 12 17 61 ee"
     "42 c3 33 e1 b9 e7 7b 60 dd 57 c2 05 3c d9 45 12 ab 47 f1 15 e8 6e ff 50 94 2c ea 31 00 2b 00 02 03 04"),
    ("server",  # EncryptedExtensions and Finished, one record
     "17 03 03 00 61 dc 48 23 7b 4b 87 9f 50 d0 d4 d2 62 ea 8b 47 16 eb 40 dd c1 eb 95 7e 11 12 6e 8a 71"
     "49 c2 d0 12 d3 7a 71 15 95 7e 64 ce 30 00 8b 9e 03 23 f2 c0 5a 9c 1c 77 b4 f3 78 49 a6 95 ab 25 50 60"
     "a3 3f ee 77 0c a9 5c b8 48 6b fd 08 43 b8 70 24 86 5c a3 5c c4 1c 4e 51 5c 64 dc b1 36 9f 98 63 5b c7"
     "a5"),
    ("client",  # EndOfEarlyData, still under client_early_traffic_secret
     "17 03 03 00 15 ac a6 fc 94 48 41 29 8d f9 95 93 72 5f 9b f9 75 44 29 b1 2f 09"),
    ("client",  # Finished
     "17 03 03 00 35 00 f8 b4 67 d1 4c f2 2a 4b 3f 0b 6a e0 d8 e6 cc 8d 08 e0 db 35 15 ef 5c 2b df 19 22"
     "ea fb b7 00 09 96 47 16 d8 34 fb 70 c3 d2 a5 6c 5b 1f 5f 6b db a6 c3 33 cf"),
    ("client",  # application data
     "17 03 03 00 43 b1 ce bc e2 42 aa 20 1b e9 ae 5e 1c b2 a9 aa 4b 33 d4 e8 66 af 1e db 06 89 19 23 77"
     "41 aa 03 1d 7a 74 d4 91 c9 9b 9d 4e 23 2b 74 20 6b c6 fb aa 04 fe 78 be 44 a9 b4 f5 43 20 a1 7e b7 69"
     "92 af ac 31 03"),
    ("server",  # application data
     "17 03 03 00 43 27 5e 9f 20 ac ff 57 bc 00 06 57 d3 86 7d f0 39 cc cf 79 04 78 84 cf 75 77 17 46 f7"
     "40 b5 a8 3f 46 2a 09 54 c3 58 13 93 a2 03 a2 5a 7d d1 41 41 ef 1a 37 90 0c db 62 ff 62 de e1 ba 39 ab"
     "25 90 cb f1 94"),
    ("client",  # close_notify
     "17 03 03 00 13 0f ac ce 32 46 bd fc 63 69 83 8d 6a 82 ae 6d e5 d4 22 dc"),
    ("server",  # close_notify
     "17 03 03 00 13 5b 18 af 44 4e 8e 1e ec 71 58 fb 62 d8 f2 57 7d 37 ba 5d"),
)
