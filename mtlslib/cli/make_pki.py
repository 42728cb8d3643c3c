"""`python -m mtlslib pki DIR`: a small PKI written to DIR, atomically."""

from __future__ import annotations

import sys
from pathlib import Path

from mtlslib.errors import UsageError
from mtlslib.pki import KEY_TYPES, slug, staged_directory, write_file

from .common import DEFAULT_CLIENT_NAMES, DEFAULT_P12_PASSWORD, DEFAULT_SERVER_NAMES, build_pki, warn_about_seed

__all__ = ["add_command", "run"]


def add_command(subparsers) -> None:
    parser = subparsers.add_parser(
        "pki", help="write a root CA, an issuing CA, a server and client certificates to DIR",
        description="Write a small PKI to DIR: root-ca.pem, issuing-ca.pem, crl.pem, server.pem + server.key, "
                    "and client-NAME.pem + .key + .p12 per client. Keys and .p12 files are mode 0600.")
    parser.add_argument("dir", metavar="DIR", help="where to write the files (created if needed; files are replaced)")
    parser.add_argument("--seed", metavar="S",
                        help="derive every key, serial number and signature from S, so the same S writes the same "
                             "files (all but the .p12, whose encryption salt is always fresh)")
    parser.add_argument("--key-type", choices=KEY_TYPES, default="ecdsa-p256", metavar="TYPE",
                        help=f"key type of every certificate: {', '.join(KEY_TYPES)} (default: ecdsa-p256)")
    parser.add_argument("--server", metavar="NAME", action="append",
                        help="a DNS name or IP address for the server certificate; repeat for more, all in one "
                             f"certificate (default: {' '.join(DEFAULT_SERVER_NAMES)})")
    parser.add_argument("--client", metavar="NAME", action="append",
                        help="a client identity (name, email, spiffe:// URI); repeat for more, one certificate each "
                             f"(default: {' '.join(DEFAULT_CLIENT_NAMES)})")
    parser.add_argument("--p12-password", metavar="P", default=DEFAULT_P12_PASSWORD,
                        help=f"password of the client .p12 files (default: {DEFAULT_P12_PASSWORD}; '' for none)")
    parser.set_defaults(run=run)


def run(args) -> int:
    warn_about_seed(args.seed)
    client_names = args.client or DEFAULT_CLIENT_NAMES
    stems: dict[str, str] = {}
    for name in client_names:
        stem = f"client-{slug(name)}"
        if stem in stems:
            raise UsageError(f"--client {stems[stem]!r} and --client {name!r} would both be written as {stem}.pem; "
                            "give distinct names")
        stems[stem] = name
    pki = build_pki(args.seed, args.key_type, args.server or DEFAULT_SERVER_NAMES, client_names)

    directory = Path(args.dir)
    p12_note = f"password: {args.p12_password}" if args.p12_password else "no password"
    written: list[tuple[str, str]] = []
    try:
        # Everything is written beside DIR first and moves in only once all of it succeeded: a failed
        # run leaves an existing DIR exactly as it was.
        with staged_directory(directory) as staging:
            for name, data, purpose in (
                ("root-ca.pem", pki.root.cert_pem, "root CA certificate: the trust anchor (curl --cacert; serve "
                                                   "--mtls trusts it for client certificates)"),
                ("issuing-ca.pem", pki.issuing.cert_pem, "issuing CA certificate (intermediate); already inside "
                                                         "every chain below"),
                ("crl.pem", pki.issuing.crl_pem, "the issuing CA's certificate revocation list (empty: nothing "
                                                 "revoked)"),
            ):
                write_file(staging / name, data)
                written.append((name, purpose))
            pki.server.write(staging, "server")
            written += [("server.pem", f"server certificate chain (server, then issuing CA) for "
                                       f"{', '.join(pki.server.identities)}"),
                        ("server.key", "server private key (mode 0600)")]
            for stem, client in zip(stems, pki.clients):
                client.write(staging, stem)
                client.write_pkcs12(staging / f"{stem}.p12", args.p12_password or None)
                written += [(f"{stem}.pem", f"client certificate chain (client, then issuing CA) for "
                                            f"{', '.join(client.identities)}"),
                            (f"{stem}.key", "client private key (mode 0600)"),
                            (f"{stem}.p12", f"client key and chain as PKCS#12 for browsers (mode 0600); {p12_note}")]
    except OSError as error:
        raise UsageError(f"{error.filename or directory}: cannot write there ({error.strerror})") from None

    stale = sorted(path.name for path in directory.glob("client-*.*")
                   if path.suffix in (".pem", ".key", ".p12") and path.name not in dict(written))
    if stale:
        print(f"note: {', '.join(stale)} in {directory} are from an earlier run and do not chain to this root; "
              "delete them if you no longer need them", file=sys.stderr)
    width = max(len(name) for name, _ in written)
    for name, purpose in written:
        print(f"{name:<{width}}  {purpose}")
    return 0
