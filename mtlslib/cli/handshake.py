"""`python -m mtlslib handshake`: one real handshake, traced, decrypted or saved for Wireshark."""

from __future__ import annotations

import shlex
from pathlib import Path

from mtlslib.errors import UsageError
from mtlslib.pki import KEY_TYPES, write_private_file
from mtlslib.tls import capture_handshake, handshake
from mtlslib.wire import decode_conversation

from .common import DEFAULT_CLIENT_NAMES, DEFAULT_SERVER_NAMES, HANDSHAKE_SEED, build_pki, warn_about_seed

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "handshake", help="run one real TLS handshake on 127.0.0.1 with throwaway certificates and show it",
        description="Make a seeded root CA, issuing CA, server and client certificate in memory, run one TLS "
                    "handshake and one round trip on 127.0.0.1, and print what each side saw. Exit status 0 if "
                    "it succeeded, 1 if not.")
    parser.add_argument("--mtls", action="store_true", help="the server requires a client certificate (mutual TLS)")
    parser.add_argument("--tls", choices=("1.2", "1.3"),
                        help="allow only this protocol version (default: both sides negotiate, which gives 1.3)")
    parser.add_argument("--seed", metavar="S",
                        help=f"seed of the throwaway certificates (default: {HANDSHAKE_SEED!r})")
    parser.add_argument("--key-type", choices=KEY_TYPES, default="ecdsa-p256", metavar="TYPE",
                        help=f"key type of every certificate: {', '.join(KEY_TYPES)} (default: ecdsa-p256)")
    parser.add_argument("--trace", action="store_true",
                        help="capture the connection and print every message in wire order: direction, name, "
                             "size, clear or encrypted, key fields")
    parser.add_argument("--decrypt", action="store_true",
                        help="with --trace (implied): open every encrypted record with the key log, say which secret "
                             "opened each message (TLS 1.3: the key-log secret; TLS 1.2: the key-block key, from the "
                             "master secret) and re-check both Finished messages and every signature")
    parser.add_argument("--pcap", metavar="FILE", type=Path,
                        help="capture the connection and write it to FILE as pcapng, for Wireshark or tshark: the "
                             "key log is inside, so they decrypt it with no other file (mode 0600)")
    parser.add_argument("--keylog", metavar="FILE", type=Path,
                        help="capture the connection and write its key log to FILE, in the NSS format of "
                             "SSLKEYLOGFILE (mode 0600)")
    parser.set_defaults(run=run)


def _handshake_arguments(args) -> dict:
    """The keyword arguments of :func:`mtlslib.tls.handshake` that the options ask for."""
    pki = build_pki(args.seed, args.key_type, DEFAULT_SERVER_NAMES, DEFAULT_CLIENT_NAMES)
    return {"server": pki.server, "client": pki.clients[0] if args.mtls else None, "trust": pki.root,
            "tls_version": args.tls}


def run(args) -> int:
    warn_about_seed(args.seed)
    args.seed = HANDSHAKE_SEED if args.seed is None else args.seed
    outputs = _capture_outputs(args)
    if not (args.trace or args.decrypt or outputs):
        result = handshake(**_handshake_arguments(args))
        print(result)
        return 0 if result.ok else 1
    trace = capture_handshake(**_handshake_arguments(args))
    print(trace.result)
    _write_capture(trace, outputs)
    if not (args.trace or args.decrypt):
        return 0 if trace.result.ok else 1
    print()
    # The trace shows TLS 1.2 as an observer without keys sees it; --decrypt opens its records too.
    conversation = decode_conversation(trace.chunks, trace.keylog, tls12=True) if args.decrypt else trace.conversation
    for message in conversation.messages:
        opened_with = f"  [{message.secret}]" if args.decrypt and message.secret else ""
        print(f"{message}{opened_with}")
    if args.decrypt:
        print()
        if conversation.tls12 is not None:
            print(conversation.tls12)
        for check in conversation.checks:
            print(check)
    return 0 if trace.result.ok and all(check.ok for check in conversation.checks) else 1


def _capture_outputs(args) -> dict[str, Path]:
    """The files --pcap and --keylog ask for, checked before the handshake runs: a mistyped
    directory is reported at once, not after the connection."""
    outputs = {option: path for option, path in (("--pcap", args.pcap), ("--keylog", args.keylog)) if path}
    if len(set(outputs.values())) < len(outputs):
        raise UsageError(f"{args.pcap}: --pcap and --keylog name the same file; give two")
    for option, path in outputs.items():
        if path.is_dir():
            raise UsageError(f"{path}: is a directory; {option} needs a file name")
        if not path.parent.is_dir():
            raise UsageError(f"{path}: no such directory {str(path.parent)!r} for {option}")
    return outputs


def _write_capture(trace, outputs: dict[str, Path]) -> None:
    for option, path in outputs.items():
        try:
            if option == "--pcap":
                trace.write_pcapng(path)
            else:
                write_private_file(path, trace.keylog.encode("ascii"))
        except OSError as error:
            raise UsageError(f"{path}: cannot write there ({error.strerror})") from None
        what = (f"pcapng with the key log inside: open it in Wireshark, or run tshark -r {shlex.quote(str(path))}"
                if option == "--pcap" else "key log in the NSS format (what SSLKEYLOGFILE gets)")
        print(f"wrote {path}: {what}")
