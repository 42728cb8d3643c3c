"""Is this machine ready for the course? Versions, OpenSSL, and graphviz's ``dot`` program.

Used by the start notebook (``environment_report()``) and by ``make`` (``python -m
mtlslib.course.environment --ensure-dot``), which installs graphviz with apt when it can and otherwise
stops with the one command the reader needs to type; ``make test`` also asks for Chromium
(``--ensure-browser``) and tshark (``--ensure-tshark``), whose tests are skipped where they are missing.
"""

from __future__ import annotations

import os
import platform
import shutil
import ssl
import subprocess
import sys
from importlib import metadata

__all__ = ["dot_install_command", "ensure_browser", "ensure_dot", "ensure_tshark", "environment_report", "readiness"]

# What the chapters need (requirements.txt); the test tools (requirements-test.txt) are not a student's concern.
_PACKAGES = ("cryptography", "jupyterlab", "graphviz")


def dot_install_command() -> str:
    """The one-line command that installs graphviz (the ``dot`` program) on this system."""
    if os.environ.get("CONDA_PREFIX"):
        return "conda install -c conda-forge graphviz"
    system = platform.system()
    if system == "Darwin":
        return "brew install graphviz"
    if system == "Windows":
        return "winget install --id Graphviz.Graphviz"
    if shutil.which("apt-get"):
        return "sudo apt-get install graphviz"
    if shutil.which("dnf"):
        return "sudo dnf install graphviz"
    if shutil.which("pacman"):
        return "sudo pacman -S graphviz"
    return "install graphviz from your package manager (apt, dnf, brew, conda or winget)"


def _can_use_apt() -> bool:
    return sys.platform.startswith("linux") and hasattr(os, "geteuid") and os.geteuid() == 0 \
        and shutil.which("apt-get") is not None


def _apt_install(package: str) -> bool:
    """Install a Debian package as root; True if it worked."""
    print(f"installing the Debian package {package} ...", flush=True)
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-qq", package]
    if subprocess.run(command, env=env, **quiet).returncode == 0:
        return True
    subprocess.run(["apt-get", "update", "-qq"], env=env, **quiet)  # a fresh machine may have no package lists
    return subprocess.run(command, env=env, **quiet).returncode == 0


def ensure_dot() -> int:
    """Make sure ``dot`` is on PATH: install Debian's graphviz as root, else explain. Exit status."""
    if shutil.which("dot"):
        return 0
    if _can_use_apt() and _apt_install("graphviz") and shutil.which("dot"):
        return 0
    print(f"graphviz's `dot` program is needed to draw the course's diagrams. Install it with:\n"
          f"    {dot_install_command()}\nthen run the same make command again.", file=sys.stderr)
    return 1


CHROMIUM = "/usr/bin/chromium"


def ensure_browser() -> int:
    """The browser tests need Debian's Chromium: install it as root when apt is usable; otherwise
    say that those tests will be skipped. Never fails: the rest of the suite does not need it."""
    if os.path.exists(CHROMIUM):
        return 0
    if _can_use_apt() and _apt_install("chromium") and os.path.exists(CHROMIUM):
        return 0
    print(f"note: {CHROMIUM} is missing, so the browser tests will be skipped "
          "(install Chromium, e.g. `sudo apt-get install chromium`, to run them)")
    return 0


def ensure_tshark() -> int:
    """The Wireshark tests need tshark: install Debian's as root when apt is usable; otherwise say that
    those tests will be skipped. Never fails: the rest of the suite does not need it."""
    if shutil.which("tshark"):
        return 0
    if _can_use_apt() and _apt_install("tshark") and shutil.which("tshark"):
        return 0
    print("note: tshark is missing, so the tests that open the course's pcapng files in Wireshark's dissector "
          "will be skipped (install it, e.g. `sudo apt-get install tshark`, to run them)")
    return 0


def _dot_version() -> str | None:
    if not shutil.which("dot"):
        return None
    done = subprocess.run(["dot", "-V"], capture_output=True, text=True, timeout=10)
    return (done.stderr or done.stdout).strip().replace("dot - graphviz version ", "")


def environment_report() -> dict[str, str]:
    """What the course depends on, and the version found (or what to do when missing)."""
    report = {"Python": platform.python_version(), "OpenSSL (ssl module)": ssl.OPENSSL_VERSION}
    for package in _PACKAGES:
        try:
            report[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            report[package] = "MISSING: run `make lab` (or pip install -r requirements.txt)"
    report["graphviz dot"] = _dot_version() or f"MISSING: {dot_install_command()}"
    return report


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def readiness() -> str:
    """One line per requirement, ``ok`` or what to do: identical on every machine that is ready."""
    checks = [("Python 3.11 or newer", sys.version_info >= (3, 11), "use Python 3.11+ (make PYTHON=python3.11 lab)"),
              ("OpenSSL 3 behind the ssl module", ssl.OPENSSL_VERSION_INFO >= (3, 0),
               "use a Python built with OpenSSL 3")]
    for package, minimum in (("cryptography", (47, 0)), ("graphviz", (0, 20))):
        try:
            found = _version_tuple(metadata.version(package)) >= minimum
        except metadata.PackageNotFoundError:
            found = False
        checks.append((f"{package} {'.'.join(map(str, minimum))} or newer", found,
                       "run `make lab` from the repository"))
    checks.append(("graphviz's dot program", shutil.which("dot") is not None, dot_install_command()))
    width = max(len(name) for name, _, _ in checks) + 3
    lines = [f"{name + ' ':.<{width}} {'ok' if ok else 'MISSING: ' + fix}" for name, ok, fix in checks]
    lines.append("Ready." if all(ok for _, ok, _ in checks) else "Not ready yet: fix the lines marked MISSING.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--ensure-dot"]:
        return ensure_dot()
    if argv == ["--ensure-browser"]:
        return ensure_browser()
    if argv == ["--ensure-tshark"]:
        return ensure_tshark()
    for name, version in environment_report().items():
        print(f"{name:<22} {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
