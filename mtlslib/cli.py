"""The command line: ``python -m mtlslib COMMAND`` (or ``mtlslib COMMAND`` once installed).

    python -m mtlslib pki pki/                  # root CA, issuing CA, server and client files
    python -m mtlslib serve pki/ --mtls         # HTTPS on 127.0.0.1 that names its client
    python -m mtlslib handshake --mtls --tls 1.2
    python -m mtlslib explain server.pem --trust root-ca.pem --name localhost

Each subcommand is a pair of functions, ``_add_NAME(subparsers)`` declaring its options and
``_run_NAME(args)`` doing the work and returning the exit status, so a new option touches one pair.

Bad input (a missing or damaged file, DER where PEM belongs, a wrong password, a key that is not
the certificate's, an address that is not loopback, a port in use) ends with one line on stderr
that names the file or address, and exit status 2. Only errors mtlslib raises on purpose and the
operating-system errors of the step that failed are caught: anything else is a bug and should
show its traceback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import os
import re
import shlex
import signal
import ssl
import sys
import threading
import urllib.parse
from pathlib import Path
from typing import NamedTuple, Sequence

from mtlslib import __version__
from mtlslib.display import shorten
from mtlslib.errors import MtlsLibError, PurposeError, UsageError
from mtlslib.pki import (
    KEY_TYPES,
    CertificateAuthority,
    IssuedCertificate,
    load_pem_certificates,
    read_file,
    slug,
    staged_directory,
    trust_pem,
    write_file,
)
from mtlslib.tls import (
    DEFAULT_TIMEOUT,
    HttpsService,
    capture_handshake,
    error_text,
    handshake,
)
from mtlslib.tls.https import DEFAULT_MAX_CONNECTIONS
from mtlslib.verification import explain, load_crls
from mtlslib.wire import decode_conversation

__all__ = ["DEFAULT_P12_PASSWORD", "build_parser", "main"]

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130  # the shell's convention for "stopped by SIGINT"
EXIT_BROKEN_PIPE = 141  # and for "the reader of my output went away" (SIGPIPE)

ROOT_CA_NAME = "Course Root CA"
ISSUING_CA_NAME = "Course Issuing CA"
DEFAULT_SERVER_NAMES = ("localhost", "127.0.0.1")
DEFAULT_CLIENT_NAMES = ("alice@example.test",)
# Browsers and the macOS keychain refuse to import a PKCS#12 file without a password, so the
# default is a password, and a well-known one: these files are for a course, not for secrets.
DEFAULT_P12_PASSWORD = "mtlslib"
# The handshake command is a demonstration: a fixed seed shows the same certificates every run.
HANDSHAKE_SEED = "mtlslib handshake"



def _warn_about_seed(seed: str | None) -> None:
    if seed is not None:
        print(f"warning: --seed {shorten(seed, 40)!r} derives every private key from the seed, so the keys are public: "
              "these certificates are for the course only and must never be trusted anywhere else (the CA only "
              "vouches for reserved names such as .test and .example)", file=sys.stderr)


class _CoursePki(NamedTuple):
    root: CertificateAuthority
    issuing: CertificateAuthority
    server: IssuedCertificate
    clients: list[IssuedCertificate]


def _build_pki(seed: str | None, key_type: str, server_names: Sequence[str],
               client_names: Sequence[str]) -> _CoursePki:
    """A root CA, one issuing CA under it, one server certificate for all ``server_names`` and one
    client certificate per client name: the shape of a small real deployment."""
    root = CertificateAuthority.create(ROOT_CA_NAME, seed=seed, key_type=key_type)
    issuing = root.create_intermediate(ISSUING_CA_NAME)
    return _CoursePki(root, issuing, issuing.issue_server(*server_names),
                      [issuing.issue_client(name) for name in client_names])


# --------------------------------------------------------------------------------------------
# pki


def _add_pki(subparsers) -> None:
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
    parser.set_defaults(run=_run_pki)


def _run_pki(args) -> int:
    _warn_about_seed(args.seed)
    client_names = args.client or DEFAULT_CLIENT_NAMES
    stems: dict[str, str] = {}
    for name in client_names:
        stem = f"client-{slug(name)}"
        if stem in stems:
            raise UsageError(f"--client {stems[stem]!r} and --client {name!r} would both be written as {stem}.pem; "
                            "give distinct names")
        stems[stem] = name
    pki = _build_pki(args.seed, args.key_type, args.server or DEFAULT_SERVER_NAMES, client_names)

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


# --------------------------------------------------------------------------------------------
# serve


def _port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) > 65535:  # ASCII digits only: not "٨٤٤٣"
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 picks a free one)")
    return int(text)


def _add_serve(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve", help="serve HTTPS on 127.0.0.1 with the files in DIR; each response names the client",
        description="Serve HTTPS on a loopback address with DIR/server.pem and DIR/server.key (as written by "
                    "`pki`). Every GET answers with who the client is. Stop with Ctrl-C. "
                    f"Limits: a client has {DEFAULT_TIMEOUT:g} s to finish its TLS handshake and {DEFAULT_TIMEOUT:g} s "
                    "for its request (request line, headers and body, counted from the end of the handshake), "
                    f"else 408 and the connection closes; at most {DEFAULT_MAX_CONNECTIONS} connections are served "
                    "at once, and further clients wait in the listen queue.")
    parser.add_argument("dir", metavar="DIR", help="the directory `pki` wrote")
    parser.add_argument("--mtls", action="store_true",
                        help="require a client certificate issued under DIR/root-ca.pem (mutual TLS)")
    parser.add_argument("--port", type=_port, default=8443, help="port to listen on (default 8443; 0 picks a free one)")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to listen on (default 127.0.0.1)")
    parser.add_argument("--key-password", metavar="P", help="password of DIR/server.key, if it is encrypted")
    parser.set_defaults(run=_run_serve)


def _run_serve(args) -> int:
    directory = Path(args.dir)
    if not directory.is_dir():
        problem = "not a directory" if directory.exists() else "no such directory"
        raise UsageError(f"{directory}: {problem}; make one with `python -m mtlslib pki {directory}`")
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    password = args.key_password.encode() if args.key_password is not None else None
    server_cert = IssuedCertificate.load(cert_file, key_file, password=password)
    trust = None
    if args.mtls:
        trust_file = directory / "root-ca.pem"
        trust = trust_pem(load_pem_certificates(read_file(trust_file), str(trust_file)))
        try:  # loaded by cryptography is not yet usable by OpenSSL: say which file OpenSSL refuses
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_verify_locations(cadata=trust.decode())
        except ssl.SSLError as error:
            raise UsageError(f"{trust_file}: OpenSSL cannot use this CA certificate ({error_text(error)}); "
                             f"write a fresh one with `python -m mtlslib pki {directory}`") from None
    try:
        service = HttpsService(server_cert, trust=trust, mutual=args.mtls, host=args.host, port=args.port,
                               log=lambda line: print(line, flush=True))
    except PurposeError:
        raise UsageError(f"{cert_file}: not a server certificate (its extended key usage lacks serverAuth); "
                        f"write one with `python -m mtlslib pki {directory}`") from None
    except ssl.SSLError as error:
        raise UsageError(f"{cert_file}: OpenSSL cannot use this certificate and key ({error_text(error)})") from None
    try:
        service.start()
    except OSError as error:
        raise UsageError(_listen_problem(service.host, args.port, error)) from None

    # A shell starts background jobs with SIGINT ignored, and Python then leaves it ignored;
    # `kill -INT` is this server's documented way to stop, so take SIGINT back.
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        try:
            mode = (f"mutual TLS: client certificates issued under {directory / 'root-ca.pem'} required"
                    if args.mtls else "TLS: no client certificate requested")
            print(f"serving {service.url} ({mode})", flush=True)
            if _checks_another_name(service):
                host = service.address[0]
                print(f"note: {cert_file} does not name {host}: a client connects to {host} but checks the name "
                      f"{service.server_name}, as the command below does (or write a certificate that names "
                      f"{host}: python -m mtlslib pki NEWDIR --server {host})", flush=True)
            print(f"try: {_curl_command(directory, service, args.mtls)}", flush=True)
            print("stop with Ctrl-C", flush=True)
            threading.Event().wait()
        finally:
            service.stop()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    return 0


def _listen_problem(host: str, port: int, error: OSError) -> str:
    where = f"{host}:{port}"
    if error.errno == errno.EADDRINUSE:
        return f"{where}: port {port} is already in use; pick another with --port, or --port 0 for any free one"
    if error.errno == errno.EACCES:
        return f"{where}: not allowed to listen there (ports below 1024 need privileges); use a higher --port"
    if error.errno == errno.EADDRNOTAVAIL:
        return f"{where}: this machine has no such loopback address"
    return f"{where}: cannot listen there ({error.strerror})"


def _curl_command(directory: Path, service: HttpsService, mtls: bool) -> str:
    words = ["curl", "--cacert", str(directory / "root-ca.pem")]
    if mtls:
        clients = sorted(directory.glob("client-*.pem"))
        client = clients[0] if clients else directory / "client-NAME.pem"
        words += ["--cert", str(client), "--key", str(client.with_suffix(".key"))]
    url = service.url
    if _checks_another_name(service):
        # The URL names a host the certificate does not cover: put a name it has in the URL (curl
        # sends and checks that one) and tell curl the address to connect to.
        (host, port), name = service.address, _bracketed(service.server_name)
        words += ["--connect-to", f"{name}:{port}:{_bracketed(host)}:{port}"]
        url = f"https://{name}:{port}/"
    return shlex.join([*words, url])


def _checks_another_name(service: HttpsService) -> bool:
    """Whether a client must check a name other than the URL's host (the certificate lacks it)."""
    return urllib.parse.urlsplit(service.url).hostname != service.server_name


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# --------------------------------------------------------------------------------------------
# handshake


def _add_handshake(subparsers) -> None:
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
    parser.set_defaults(run=_run_handshake)


def _handshake_arguments(args) -> dict:
    """The keyword arguments of :func:`mtlslib.tls.handshake` that the options ask for."""
    pki = _build_pki(args.seed, args.key_type, DEFAULT_SERVER_NAMES, DEFAULT_CLIENT_NAMES)
    return {"server": pki.server, "client": pki.clients[0] if args.mtls else None, "trust": pki.root,
            "tls_version": args.tls}


def _run_handshake(args) -> int:
    _warn_about_seed(args.seed)
    args.seed = HANDSHAKE_SEED if args.seed is None else args.seed
    if not (args.trace or args.decrypt):
        result = handshake(**_handshake_arguments(args))
        print(result)
        return 0 if result.ok else 1
    trace = capture_handshake(**_handshake_arguments(args))
    print(trace.result)
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


# --------------------------------------------------------------------------------------------
# explain


EXIT_INVALID = 1
EXIT_UNDECIDED = 3


def _add_explain(subparsers) -> None:
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
    parser.set_defaults(run=_run_explain)


def _iso_time(text: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 date, e.g. 2030-01-01 or "
                                         "2030-01-01T12:00:00+00:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _run_explain(args) -> int:
    chain = load_pem_certificates(read_file(args.chain), str(args.chain))
    trust = load_pem_certificates(read_file(args.trust), str(args.trust))
    crls = [crl for path in args.crl for crl in load_crls(read_file(path), str(path))]
    explanation = explain(chain, trust, purpose=args.purpose, name=args.name, at=args.at, crls=crls,
                          profile=args.profile)
    print(explanation)
    return {"valid": 0, "invalid": EXIT_INVALID}.get(explanation.verdict, EXIT_UNDECIDED)


# --------------------------------------------------------------------------------------------
# main


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line on stderr (and exit status 2)."""

    def error(self, message: str):
        self.exit(EXIT_BAD_INPUT, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # Python 3.11 would call a `python -m` run "__main__.py"; name it the way the reader typed it.
    prog = "mtlslib" if Path(sys.argv[0]).name == "mtlslib" else "python -m mtlslib"
    parser = _Parser(
        prog=prog, description="Certificates, an HTTPS server and handshakes for the TLS and mutual TLS course. "
                               "Everything stays on 127.0.0.1.")
    parser.add_argument("--version", action="version", version=f"mtlslib {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_pki, _add_serve, _add_handshake, _add_explain):
        add(subparsers)
    return parser


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that Python's own flush at exit does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.run(args)
        sys.stdout.flush()  # here, where a full disk or a closed pipe can still be reported
        return status
    except MtlsLibError as error:
        message = " ".join(str(error).splitlines())
        print(f"{parser.prog} {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        # The reader went away (`... | head -1`): stop quietly, as command-line tools do.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
            raise
        _silence_stdout()
        print(f"{parser.prog} {args.command}: error: cannot write the output ({error.strerror})", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(f"{parser.prog} {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
