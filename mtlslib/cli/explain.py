"""`python -m mtlslib explain CHAIN.pem`: every check a verifier makes, and the exit status of its verdict."""

from __future__ import annotations

import argparse
import datetime as dt

from mtlslib.pki import load_pem_certificates, read_file
from mtlslib.verification import explain, load_crls

__all__ = ["add_command", "run"]

EXIT_INVALID = 1
EXIT_UNDECIDED = 3


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="explain, check by check, whether a certificate chain would be accepted",
        description="Build the path from the chain in CHAIN (leaf first, then intermediates) to a root in "
                    "--trust, run every check a verifier runs, and print them as a table with the first failure "
                    "marked. Exit status 0 if the chain is valid, 1 if not, 2 if the input is unusable, 3 if the "
                    "explainer cannot decide (it says why).")
    parser.add_argument("chain", metavar="CHAIN.pem", help="the presented certificates, leaf first (PEM)")
    parser.add_argument("--trust", metavar="ROOTS.pem", required=True, help="the trust store (PEM certificates)")
    parser.add_argument("--purpose", choices=("server", "client"), default="server",
                        help="server: a client checks a server certificate (default); client: a server checks a "
                             "client certificate")
    parser.add_argument("--name", metavar="NAME", help="the expected DNS name or IP address (default: not checked)")
    parser.add_argument("--at", metavar="ISO-DATE", type=_iso_time,
                        help="check as of this time, e.g. 2030-01-01 or 2030-01-01T12:00:00Z (default: now, UTC)")
    parser.add_argument("--crl", metavar="CRL.pem", action="append", default=[],
                        help="a CRL to check the leaf against (repeat for more); with one, revocation is checked")
    parser.add_argument("--profile", choices=("openssl", "webpki"), default="openssl",
                        help="openssl: decide as OpenSSL does through Python's ssl (default); webpki: the stricter "
                             "web PKI rules of browsers and cryptography")
    parser.set_defaults(run=run)


def _iso_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date, e.g. 2030-01-01 or "
                                         "2030-01-01T12:00:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def run(args) -> int:
    chain = load_pem_certificates(read_file(args.chain), str(args.chain))
    trust = load_pem_certificates(read_file(args.trust), str(args.trust))
    crls = [crl for path in args.crl for crl in load_crls(read_file(path), str(path))]
    explanation = explain(chain, trust, purpose=args.purpose, name=args.name, at=args.at, crls=crls,
                          profile=args.profile)
    print(explanation)
    return {"valid": 0, "invalid": EXIT_INVALID}.get(explanation.verdict, EXIT_UNDECIDED)
