"""Shared fixtures. Every test is also a leak check: it must leave behind no thread, no open
socket and no temporary file (and warnings, ResourceWarning included, are errors: pyproject.toml)."""

from __future__ import annotations

import gc
import os
import shutil
import ssl
import tempfile
import threading
import time
from pathlib import Path

import pytest
from pki_hierarchy import Hierarchy, build_hierarchy

from mtlslib.pki import KEY_TYPES, CertificateAuthority
from mtlslib.tls import client_context


def _open_sockets() -> set[str]:
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.exists():  # not Linux: the thread and temp-file checks still run
        return set()
    sockets = set()
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(fd_dir / fd)
        except OSError:
            continue
        if target.startswith("socket:"):
            sockets.add(target)
    return sockets


def _mtlslib_temp_entries() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("mtlslib-*")}


@pytest.fixture(scope="session", autouse=True)
def private_temp_dir(tmp_path_factory):
    """Give the test run its own temporary directory, so that the temp-file check below sees only
    what this run created (not, say, a benchmark running at the same time)."""
    private = tmp_path_factory.mktemp("tmp")
    saved_tempdir, saved_env = tempfile.tempdir, os.environ.get("TMPDIR")
    tempfile.tempdir = str(private)
    os.environ["TMPDIR"] = str(private)
    yield private
    tempfile.tempdir = saved_tempdir
    if saved_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved_env


@pytest.fixture(autouse=True)
def no_leaks(private_temp_dir):
    threads_before = set(threading.enumerate())
    sockets_before = _open_sockets()
    temp_before = _mtlslib_temp_entries()
    yield
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        gc.collect()
        extra_threads = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        extra_sockets = _open_sockets() - sockets_before
        if not extra_threads and not extra_sockets:
            break
        time.sleep(0.02)
    assert not extra_threads, f"threads left running: {[t.name for t in extra_threads]}"
    assert not extra_sockets, f"sockets left open: {sorted(extra_sockets)}"
    assert _mtlslib_temp_entries() <= temp_before, "temporary files left behind"


@pytest.fixture(scope="session")
def ca() -> CertificateAuthority:
    """A seeded root CA shared by tests that only need something to trust."""
    return CertificateAuthority.create("Test Root CA", seed="tests")


@pytest.fixture(scope="session")
def issuing_ca(ca) -> CertificateAuthority:
    return ca.create_intermediate("Test Issuing CA")


@pytest.fixture(scope="session")
def server_cert(issuing_ca):
    return issuing_ca.issue_server("localhost", "127.0.0.1")


@pytest.fixture(scope="session")
def client_cert(issuing_ca):
    return issuing_ca.issue_client("alice@example.test")


@pytest.fixture(scope="module")
def other_ca() -> CertificateAuthority:
    """A seeded root that has issued nothing the fixtures above trust: the stranger in refusal tests."""
    return CertificateAuthority.create("Some Other Root CA", seed="tests other")


@pytest.fixture(scope="module")
def anonymous_context(ca) -> ssl.SSLContext:
    """A client context that trusts ``ca`` and has no certificate of its own."""
    return client_context(ca)


@pytest.fixture(scope="module", params=KEY_TYPES)
def hierarchy(request) -> Hierarchy:
    """Root, intermediate, server and client of one key type, all made with the defaults (no seed).
    Nothing may revoke through these CAs: the tests of a module share them."""
    return build_hierarchy(request.param, request.param, "alice@example.test")


@pytest.fixture(scope="module")
def scratch_ca() -> CertificateAuthority:
    """An unseeded root for tests that issue what they need; the shared seeded CAs above stay
    untouched, so what they issue does not depend on which tests ran first."""
    return CertificateAuthority.create("Scratch Root CA")


def _installed(tool: str) -> str:
    """The path of a command-line tool; the test that needs it is skipped where it is missing."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"the {tool} command-line tool is not installed")
    return path


@pytest.fixture(scope="session")
def openssl_bin() -> str:
    return _installed("openssl")


@pytest.fixture(scope="session")
def curl_bin() -> str:
    return _installed("curl")


@pytest.fixture(scope="session")
def jupyter_kernels():
    """For tests that run notebooks: jupyter_client's ZeroMQ context and jupyter_core's event loop
    (each with internal sockets) live as long as the process, so create them before the per-test
    leak check starts counting."""
    import zmq
    from jupyter_core.utils import ensure_event_loop

    zmq.Context.instance()
    ensure_event_loop()
