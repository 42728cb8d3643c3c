"""Real HTTPS clients against a loopback URL, with a client certificate: what users actually type.

Each function runs one GET request and returns a :class:`ClientRun`: the command as the reader
would type it, the HTTP status and body, or the error the tool printed (cleaned of its
process-specific noise), or a note that the tool is not installed.

* :func:`curl` -- ``curl --cacert ... --cert ... --key ...``;
* :func:`openssl_s_client` -- ``openssl s_client -CAfile ... -cert ... -key ...`` with an HTTP
  request typed on its standard input;
* :func:`python_urllib` and :func:`python_http_client` -- the standard library, loading the same
  PEM files into an ``ssl.SSLContext``;
* :func:`https_get` -- the course's shortcut: the same request from in-memory certificates.

The command-line tools get the certificates as files in a private temporary directory (the key
readable by its owner only), deleted before the function returns. Every run has a timeout, a
tool still running when it expires is killed, and only loopback URLs are accepted. The port is
shown as ``<PORT>`` in commands: it changes on every run.
"""

from __future__ import annotations

import http
import http.client
import re
import shlex
import shutil
import ssl
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mtlslib.display import Shown
from mtlslib.errors import ClientUrlError
from mtlslib.pki import IssuedCertificate, Trust, certificate_pem, trust_anchors, trust_pem, write_private_file

from .contexts import client_context
from .http import parse_response
from .net import DEFAULT_TIMEOUT, loopback_address
from .results import error_text

__all__ = ["ClientRun", "ClientUrlError", "curl", "https_get", "openssl_s_client", "python_http_client",
           "python_urllib"]



@dataclass(frozen=True)
class ClientRun(Shown):
    """One request made by one client: what was run and what came back."""

    client: str
    """``"curl"``, ``"openssl s_client"``, ``"Python urllib"``, ``"Python http.client"``, ``"mtlslib"``."""
    command: str | None = None
    """What was run, as one would type it (port shown as ``<PORT>``); ``None`` for :func:`https_get`."""
    status: int | None = None
    """The HTTP status, or ``None`` when no HTTP response came back."""
    body: str = ""
    error: str | None = None
    """Why there is no response: the tool's own message, e.g. OpenSSL's reason."""
    skipped: str | None = None
    """Why the client did not run at all, e.g. ``"curl is not installed"``."""

    @property
    def ok(self) -> bool:
        """A 2xx response came back."""
        return self.status is not None and 200 <= self.status < 300

    @property
    def outcome(self) -> str:
        """One line: ``"HTTP 200 OK"``, ``"HTTP 403 Forbidden"``, ``"no response: ..."`` or ``"skipped: ..."``."""
        if self.skipped is not None:
            return f"skipped: {self.skipped}"
        if self.status is not None:
            try:
                phrase = http.HTTPStatus(self.status).phrase
            except ValueError:
                phrase = ""
            return f"HTTP {self.status} {phrase}".rstrip()
        return f"no response: {self.error}"

    def __str__(self) -> str:
        lines = [self.command] if self.command else []
        lines.append(self.outcome)
        if self.status is not None and self.body:
            lines.append(self.body.rstrip("\n"))
        return "\n".join(lines)

    _repr_pretty_ = Shown._repr_pretty_  # before the dataclass's __repr__ in IPython's lookup


# --------------------------------------------------------------------------------------------
# URLs and files


@dataclass(frozen=True)
class _Target:
    url: str
    host: str  # as written in the URL: the name the client checks the certificate against
    address: str  # the loopback IP actually dialled
    port: int
    path: str

    @property
    def host_is_ip(self) -> bool:
        return self.host == self.address

    def shown(self, text: str) -> str:
        return text.replace(f":{self.port}", ":<PORT>")


def _target(url: str) -> _Target:
    if not isinstance(url, str):
        raise ClientUrlError(f"the URL must be a string such as service.url, not {type(url).__name__}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "https":
        raise ClientUrlError(f"{url!r}: only https:// URLs (the clients here are about TLS)")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise ClientUrlError(f"{url!r}: give the host and the port, e.g. https://127.0.0.1:8443/ (service.url does)")
    address = loopback_address(parts.hostname)  # NotLoopbackError for anything off this machine
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return _Target(url, parts.hostname, address, port, path)


class _ClientFiles:
    """``ca.pem``, ``client.pem`` (certificate and intermediates), ``client.key`` (mode 0600) and,
    when there are intermediates, ``client-chain.pem``, in a private directory for one run."""

    def __init__(self, trust: Trust, certificate: IssuedCertificate | None):
        self._trust_pem = trust_pem(trust)
        self._certificate = certificate

    def __enter__(self) -> Path:
        self._dir = tempfile.TemporaryDirectory(prefix="mtlslib-clients-")
        directory = Path(self._dir.name)
        (directory / "ca.pem").write_bytes(self._trust_pem)
        if self._certificate is not None:
            (directory / "client.pem").write_bytes(self._certificate.chain_pem)
            write_private_file(directory / "client.key", self._certificate.key_pem)
            if self._certificate.chain:
                (directory / "client-chain.pem").write_bytes(
                    b"".join(certificate_pem(c) for c in self._certificate.chain))
        return directory

    def __exit__(self, *exc) -> None:
        self._dir.cleanup()


def _partial_chain(trust: Trust) -> bool:
    """Whether an anchor of ``trust`` is not a root: the tools must then be told that any anchor
    ends the path (OpenSSL's partial-chain flag; curl sets it by itself)."""
    return any(anchor.issuer != anchor.subject for anchor in trust_anchors(trust))


def _check_certificate(certificate) -> None:
    if certificate is not None and not isinstance(certificate, IssuedCertificate):
        raise ClientUrlError(f"certificate must be an IssuedCertificate (ca.issue_client(...)) or None, "
                             f"not {type(certificate).__name__}")


# --------------------------------------------------------------------------------------------
# Running a tool


_INSTALL_HINT = "Debian/Ubuntu: apt-get install {package}; macOS: brew install {package}"


def _missing(tool: str, client: str, package: str) -> ClientRun | None:
    if shutil.which(tool) is None:
        return ClientRun(client, skipped=f"{tool} is not installed ({_INSTALL_HINT.format(package=package)})")
    return None


def _run(argv: list[str], cwd: Path, stdin: bytes, timeout: float) -> tuple[int | None, bytes, bytes]:
    """Run ``argv``; ``(None, ...)`` if it was still running after ``timeout`` seconds (it is killed)."""
    with subprocess.Popen(argv, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE) as process:
        try:
            out, err = process.communicate(stdin, timeout=timeout)
            return process.returncode, out, err
        except subprocess.TimeoutExpired:
            return None, b"", b""
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()


# OpenSSL's error lines carry a thread id (different on every run), a packed error code, a
# function name and a source location around the reason: keep the reason, and the alert number.
_OPENSSL_ERROR_LINE = re.compile(
    r"^[0-9A-F]+:error:[0-9A-F]+:[^:]*:[^:]*:(?P<reason>[^:]+):[^\n]*?(?P<alert>SSL alert number \d+)?$", re.M)
_OPENSSL_ERROR_CODE = re.compile(r"(OpenSSL/[\w.]+: )?error:[0-9A-F]{8}:[^:]*:[^:]*:")


def _curl_error(code: int, stderr: str) -> str:
    # curl's first line is the error; some are followed by paragraphs of advice.
    found = re.search(r"^curl: \(\d+\) (.*)$", stderr, re.M)
    message = found.group(1) if found else (stderr.strip().splitlines() or ["(no message)"])[0]
    message = _OPENSSL_ERROR_CODE.sub("", message)
    message = re.sub(r", errno \d+$", "", message)
    message = re.sub(r" after \d+ (ms|milliseconds)", "", message)  # a timing: different on every run
    return f"curl exit status {code}: {message}"


def _s_client_error(code: int, stderr: str) -> str:
    verify = re.search(r"^verify error:num=\d+:(.+)$", stderr, re.M)
    if verify:
        return f"openssl exit status {code}: certificate verify failed: {verify.group(1).strip()}"
    found = _OPENSSL_ERROR_LINE.search(stderr)
    if found:
        alert = f" ({found.group('alert')})" if found.group("alert") else ""
        return f"openssl exit status {code}: {found.group('reason')}{alert}"
    if "errno=111" in stderr or "Connection refused" in stderr:
        return f"openssl exit status {code}: connection refused"
    last = stderr.strip().splitlines()[-1] if stderr.strip() else "(no message)"
    return f"openssl exit status {code}: {last}"


# --------------------------------------------------------------------------------------------
# The clients


def curl(url: str, *, trust: Trust, certificate: IssuedCertificate | None = None,
         timeout: float = DEFAULT_TIMEOUT) -> ClientRun:
    """``curl --cacert ca.pem [--cert client.pem --key client.key] URL``.

    ``--disable`` (ignore ``~/.curlrc``) and ``--noproxy '*'`` keep the request on loopback
    whatever the machine's settings; ``--include`` prints the status line.
    """
    target = _target(url)
    _check_certificate(certificate)
    if (missing := _missing("curl", "curl", "curl")) is not None:
        return missing
    argv = ["curl", "--disable", "--silent", "--show-error", "--noproxy", "*", "--max-time", f"{timeout:g}",
            "--cacert", "ca.pem"]
    if certificate is not None:
        argv += ["--cert", "client.pem", "--key", "client.key"]
    argv += ["--include", target.url]
    command = target.shown("$ " + shlex.join(argv))
    with _ClientFiles(trust, certificate) as directory:
        code, out, err = _run(argv, directory, b"", timeout + 2)
    if code is None:
        return ClientRun("curl", command, error=f"curl did not finish within {timeout + 2:g} s and was stopped")
    response = parse_response(out) if code == 0 else None
    if response is None:
        return ClientRun("curl", command, error=_curl_error(code, err.decode("utf-8", "replace")))
    return ClientRun("curl", command, status=response.status, body=response.text)


def openssl_s_client(url: str, *, trust: Trust, certificate: IssuedCertificate | None = None,
                     timeout: float = DEFAULT_TIMEOUT) -> ClientRun:
    """``openssl s_client -connect HOST:PORT -CAfile ca.pem [-cert ... -key ...]``, with a GET
    request on its standard input.

    ``-verify_return_error`` makes it stop when the server's certificate does not verify (by
    default s_client only reports it and carries on); ``-verify_hostname`` / ``-verify_ip`` check
    the name; ``-brief`` keeps its report short; ``-ign_eof`` waits for the whole response.
    """
    target = _target(url)
    _check_certificate(certificate)
    if (missing := _missing("openssl", "openssl s_client", "openssl")) is not None:
        return missing
    argv = ["openssl", "s_client", "-connect", f"{target.host}:{target.port}"]
    if target.host_is_ip:
        argv += ["-noservername", "-verify_ip", target.host]
    else:
        argv += ["-servername", target.host, "-verify_hostname", target.host]
    argv += ["-CAfile", "ca.pem", "-verify_return_error"] + (["-partial_chain"] if _partial_chain(trust) else [])
    if certificate is not None:
        argv += ["-cert", "client.pem", "-key", "client.key"]
        if certificate.chain:  # -cert reads one certificate; the intermediates go separately
            argv += ["-cert_chain", "client-chain.pem"]
    argv += ["-brief", "-ign_eof"]
    request = f"GET {target.path} HTTP/1.1\r\nHost: {target.host}\r\nConnection: close\r\n\r\n"
    command = target.shown(f"$ printf {shlex.quote(request.encode('unicode_escape').decode())} | {shlex.join(argv)}")
    with _ClientFiles(trust, certificate) as directory:
        code, out, err = _run(argv, directory, request.encode(), timeout)
    if code is None:
        return ClientRun("openssl s_client", command,
                         error=f"openssl s_client did not finish within {timeout:g} s and was stopped")
    response = parse_response(out)
    if code != 0 or response is None:
        return ClientRun("openssl s_client", command, error=_s_client_error(code, err.decode("utf-8", "replace")))
    return ClientRun("openssl s_client", command, status=response.status, body=response.text)


def _python_context(directory: Path, certificate: IssuedCertificate | None, partial_chain: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(directory / "ca.pem"))
    if partial_chain:
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
    if certificate is not None:
        context.load_cert_chain(str(directory / "client.pem"), str(directory / "client.key"))
    return context


def _python_context_code(certificate: IssuedCertificate | None, partial_chain: bool) -> list[str]:
    lines = ['context = ssl.create_default_context(cafile="ca.pem")']
    if partial_chain:
        lines.append("context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN")
    if certificate is not None:
        lines.append('context.load_cert_chain("client.pem", "client.key")')
    return lines


def _shown_code(target: _Target, lines: list[str]) -> str:
    return target.shown("\n".join(f">>> {line}" for line in lines))


def python_urllib(url: str, *, trust: Trust, certificate: IssuedCertificate | None = None,
                  timeout: float = DEFAULT_TIMEOUT) -> ClientRun:
    """``urllib.request`` with an ``ssl`` context loaded from the PEM files. Proxy settings are
    ignored (an empty ``ProxyHandler``), as every request here stays on loopback."""
    target = _target(url)
    _check_certificate(certificate)
    command = _shown_code(target, _python_context_code(certificate, _partial_chain(trust)) + [
        "opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), "
        "urllib.request.ProxyHandler({}))",
        f"opener.open({target.url!r}, timeout={timeout:g}).read()",
    ])
    with _ClientFiles(trust, certificate) as directory:
        try:
            context = _python_context(directory, certificate, _partial_chain(trust))
            opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context),
                                                 urllib.request.ProxyHandler({}))
            with opener.open(target.url, timeout=timeout) as response:
                return ClientRun("Python urllib", command, status=response.status,
                                 body=response.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:  # a 4xx or 5xx answer is still an answer
            with error:
                return ClientRun("Python urllib", command, status=error.code,
                                 body=error.read().decode("utf-8", "replace"))
        except urllib.error.URLError as error:
            reason = error.reason
            return ClientRun("Python urllib", command,
                             error=error_text(reason) if isinstance(reason, BaseException) else str(reason))
        except OSError as error:
            return ClientRun("Python urllib", command, error=error_text(error))


def _http_client_get(target: _Target, context: ssl.SSLContext, timeout: float) -> tuple[int, str] | str:
    # The host name as written in the URL is what the certificate is checked against; the
    # connection itself always goes to the loopback address.
    connection = http.client.HTTPSConnection(target.host, target.port, context=context, timeout=timeout)
    try:
        connection.request("GET", target.path)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    except OSError as error:
        return error_text(error)
    finally:
        connection.close()


def python_http_client(url: str, *, trust: Trust, certificate: IssuedCertificate | None = None,
                       timeout: float = DEFAULT_TIMEOUT) -> ClientRun:
    """``http.client.HTTPSConnection`` with an ``ssl`` context loaded from the PEM files."""
    target = _target(url)
    _check_certificate(certificate)
    command = _shown_code(target, _python_context_code(certificate, _partial_chain(trust)) + [
        f"connection = http.client.HTTPSConnection({target.host!r}, <PORT>, context=context, timeout={timeout:g})",
        f"connection.request('GET', {target.path!r})",
        "connection.getresponse().read()",
    ])
    with _ClientFiles(trust, certificate) as directory:
        try:
            context = _python_context(directory, certificate, _partial_chain(trust))
        except OSError as error:
            return ClientRun("Python http.client", command, error=error_text(error))
        answer = _http_client_get(target, context, timeout)
    if isinstance(answer, str):
        return ClientRun("Python http.client", command, error=answer)
    return ClientRun("Python http.client", command, status=answer[0], body=answer[1])


def https_get(url: str, *, trust: Trust, certificate: IssuedCertificate | None = None,
              timeout: float = DEFAULT_TIMEOUT) -> ClientRun:
    """GET ``url`` with :func:`mtlslib.client_context` (``trust`` for the server, ``certificate``
    offered when the server asks): the shortcut the chapters use when the client is not the subject."""
    target = _target(url)
    _check_certificate(certificate)
    answer = _http_client_get(target, client_context(trust, certificate=certificate), timeout)
    if isinstance(answer, str):
        return ClientRun("mtlslib", error=answer)
    return ClientRun("mtlslib", status=answer[0], body=answer[1])
