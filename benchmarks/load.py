"""Load test of the HTTPS service: ``python benchmarks/load.py [--clients 200] [--slow 50] ...``.

One :class:`mtlslib.tls.HttpsService` (mutual TLS, its default limits) runs in a process of its
own on 127.0.0.1. Against it, from this process, at the same time:

* ``--clients`` good clients, each making ``--requests`` requests, each on a new mutual TLS
  connection: their latencies (connect to complete answer) are what this script reports;
* ``--slow`` slow clients, reconnecting as soon as they are cut: half hold a valid client
  certificate, finish the handshake, then send a header line every second and never finish their
  request (slow loris); half connect and never say hello;
* ``--garbage`` garbage senders, reconnecting too: random bytes, or the first half of a real
  ClientHello and then nothing.

It prints the latency percentiles of the good requests, how many were served and how many
failed, and what the service saw: requests cut with 408, failed handshakes, the most connections
served at once (against the bound) and the most connection threads. Exit status 1 if a good
request failed or the bound was exceeded. Not part of ``make test``: run it by hand (about 20 s on
a 2-core machine; ``--slow 0 --garbage 0`` gives the same good load alone, for comparison).
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import platform
import random
import socket
import ssl
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mtlslib.pki import CertificateAuthority, IssuedCertificate
from mtlslib.tls import HttpsService, client_context, https_request
from mtlslib.tls.https import DEFAULT_MAX_CONNECTIONS

SLOW_INTERVAL = 1.0  # seconds between a slow loris's header lines
SAMPLE_EVERY = 0.005  # how often the service process samples its connections and threads


# --------------------------------------------------------------------------------------------
# The service, in its own process (a server sharing the clients' interpreter would measure the GIL)


def _classify(line: str) -> str:
    if " 408 request not complete" in line:
        return "request cut with 408"
    if "TLS handshake failed: timed out" in line:
        return "handshake timed out"
    if "TLS handshake failed" in line:
        return "handshake failed"
    if '" 200 (' in line:
        return "served 200"
    return "other: " + line.split(" ", 1)[1][:60]


def _serve(directory: str, trust_pem: bytes, timeout: float, max_connections: int, pipe) -> None:
    certificate = IssuedCertificate.load(Path(directory, "server.pem"), Path(directory, "server.key"))
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def log(line: str) -> None:
        with lock:
            seen[_classify(line)] += 1

    service = HttpsService(certificate, trust=trust_pem, mutual=True, tls_version="1.3", timeout=timeout,
                           max_connections=max_connections, log=log).start()
    most = {"connections": 0, "threads": 0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(SAMPLE_EVERY):
            most["connections"] = max(most["connections"], service.active_connections)
            threads = sum(1 for t in threading.enumerate() if t.name == "mtlslib-https-connection")
            most["threads"] = max(most["threads"], threads)

    sampler = threading.Thread(target=sample)
    sampler.start()
    pipe.send(service.address)
    pipe.recv()  # the clients are done
    done.set()
    sampler.join()
    service.stop()
    with lock:
        pipe.send((dict(seen), most))


# --------------------------------------------------------------------------------------------
# The clients


def _good(address, context: ssl.SSLContext, requests: int, start: threading.Barrier) -> list[float | str]:
    """Latencies in seconds, or the reason a request failed."""
    start.wait()
    results: list[float | str] = []
    for _ in range(requests):
        started = time.perf_counter()
        reply = https_request(address, context, timeout=30)
        if reply.status == 200 and reply.text.startswith("hello load@example.test"):
            results.append(time.perf_counter() - started)
        else:
            results.append(reply.outcome)
    return results


def _until_closed(sock: socket.socket, stop: threading.Event, send_every: float | None, line: bytes) -> None:
    sock.settimeout(send_every or 0.5)
    while not stop.is_set():
        try:
            if not sock.recv(4096):
                return
        except TimeoutError:
            if send_every is not None:
                sock.sendall(line)
        except OSError:
            return


def _slow(address, context: ssl.SSLContext, loris: bool, stop: threading.Event) -> int:
    """Connect again and again, each time holding the connection as long as the service allows."""
    connections = 0
    while not stop.is_set():
        connections += 1
        try:
            with socket.create_connection(address, timeout=30) as sock:
                if not loris:  # TCP only: never sends a ClientHello
                    _until_closed(sock, stop, None, b"")
                    continue
                with context.wrap_socket(sock, server_hostname="localhost") as tls:
                    tls.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n")
                    _until_closed(tls, stop, SLOW_INTERVAL, b"X-Slow: 1\r\n")
        except OSError:
            pass
    return connections


def _client_hello(context: ssl.SSLContext) -> bytes:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    try:
        context.wrap_bio(incoming, outgoing, server_hostname="localhost").do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def _garbage(address, hello: bytes, seed: int, stop: threading.Event) -> int:
    """Random bytes, or half a ClientHello and silence, again and again."""
    rng = random.Random(seed)
    connections = 0
    while not stop.is_set():
        connections += 1
        data = hello[:len(hello) // 2] if connections % 2 else rng.randbytes(rng.randint(1, 2000))
        try:
            with socket.create_connection(address, timeout=30) as sock:
                sock.sendall(data)
                _until_closed(sock, stop, None, b"")
        except OSError:
            pass
    return connections


# --------------------------------------------------------------------------------------------


def _percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Load-test HttpsService on 127.0.0.1: good mutual TLS clients "
                                                 "among slow ones and garbage senders.")
    parser.add_argument("--clients", type=int, default=200, help="concurrent good mutual TLS clients (200)")
    parser.add_argument("--requests", type=int, default=20, help="requests per good client, each on a new "
                                                                  "connection (20)")
    parser.add_argument("--slow", type=int, default=50, help="slow clients: half slow loris, half silent (50)")
    parser.add_argument("--garbage", type=int, default=10, help="garbage senders (10)")
    parser.add_argument("--timeout", type=float, default=5.0, help="the service's deadlines, in seconds (5)")
    parser.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS,
                        help=f"the service's bound on connections served at once ({DEFAULT_MAX_CONNECTIONS})")
    args = parser.parse_args(argv)

    ca = CertificateAuthority.create("Load Test Root CA")
    good_context = client_context(ca, certificate=ca.issue_client("load@example.test"), tls_version="1.3")
    bare_context = client_context(ca, tls_version="1.3")  # for the ClientHello of the garbage senders
    print(f"Python {platform.python_version()}, {ssl.OPENSSL_VERSION}, {os.cpu_count()} CPUs")
    print(f"HttpsService, mutual TLS 1.3, deadlines {args.timeout:g} s, at most {args.max_connections} "
          f"connections at once; {args.clients} good clients x {args.requests} requests, {args.slow} slow "
          f"clients, {args.garbage} garbage senders")

    with tempfile.TemporaryDirectory(prefix="mtlslib-load-") as directory:
        ca.issue_server("localhost", "127.0.0.1").write(directory, "server")
        ours, theirs = multiprocessing.get_context("spawn").Pipe()
        server = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(directory, ca.cert_pem, args.timeout, args.max_connections, theirs))
        server.start()
        address = tuple(ours.recv())

    stop = threading.Event()
    start = threading.Barrier(args.clients)
    hello = _client_hello(bare_context)
    workers = args.clients + args.slow + args.garbage
    with ThreadPoolExecutor(max_workers=workers) as pool:
        slow = [pool.submit(_slow, address, good_context, i % 2 == 0, stop) for i in range(args.slow)]
        garbage = [pool.submit(_garbage, address, hello, i, stop) for i in range(args.garbage)]
        time.sleep(1.0)  # the slow clients and garbage senders take their places first
        started = time.perf_counter()
        good = [pool.submit(_good, address, good_context, args.requests, start) for _ in range(args.clients)]
        results = [result for future in good for result in future.result()]
        elapsed = time.perf_counter() - started
        stop.set()
        bad_connections = sum(future.result() for future in slow + garbage)
    ours.send("done")
    seen, most = ours.recv()
    server.join(30)

    latencies = sorted(r for r in results if isinstance(r, float))
    failures = Counter(r for r in results if isinstance(r, str))
    print(f"\ngood requests: {len(latencies)} served, {sum(failures.values())} failed, in {elapsed:.1f} s "
          f"({len(latencies) / elapsed:.0f} per second)")
    for reason, count in failures.most_common(5):
        print(f"  failed {count} x: {reason}")
    if latencies:
        print("latency, connect to complete answer: " + ", ".join(
            f"{name} {_percentile(latencies, fraction) * 1000:.0f} ms"
            for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0)))
              + f" (mean {statistics.fmean(latencies) * 1000:.0f} ms)")
    print(f"slow and garbage clients: {bad_connections} connections")
    print("the service saw: " + ", ".join(f"{count} {what}" for what, count in sorted(seen.items())))
    print(f"the service served at most {most['connections']} connections at once (bound {args.max_connections}), "
          f"with at most {most['threads']} connection threads")
    within_bound = most["connections"] <= args.max_connections and most["threads"] <= args.max_connections
    return 0 if not failures and within_bound else 1


if __name__ == "__main__":
    sys.exit(main())
