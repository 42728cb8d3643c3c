"""`python -m mtlslib serve DIR`: HTTPS on a loopback address that names each client."""

from __future__ import annotations

import argparse
import errno
import re
import shlex
import signal
import ssl
import threading
import urllib.parse
from pathlib import Path

from mtlslib.errors import PurposeError, UsageError
from mtlslib.pki import IssuedCertificate, load_pem_certificates, read_file, trust_pem
from mtlslib.tls import DEFAULT_TIMEOUT, HttpsService, error_text
from mtlslib.tls.https import DEFAULT_MAX_CONNECTIONS

__all__ = ["add_command", "run"]


def _port(text: str) -> int:
    if not re.fullmatch(r"[0-9]{1,5}", text) or int(text) > 65535:  # ASCII digits only: not "٨٤٤٣"
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (0-65535; 0 picks a free one)")
    return int(text)


def add_command(subparsers) -> None:
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
    parser.set_defaults(run=run)


def run(args) -> int:
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
