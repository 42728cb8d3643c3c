"""The reading edition meets WCAG 2.1 AA: axe-core finds no serious or critical violation on any
page it builds (whatever chapters exist), and every figure says in words what it shows.

The text alternatives are unit-tested without a browser; the axe-core run needs Playwright,
axe-playwright-python and Debian's Chromium, and is skipped with the reason shown without them.
"""

from __future__ import annotations

import base64
import os
import struct
from pathlib import Path

import pytest

from mtlslib.course.environment import CHROMIUM
from mtlslib.course.reading import build_html
from mtlslib.display import describe_dot, describe_figure, new_figure
from mtlslib.lessons.diagrams import chain_diagram, sequence_diagram
from mtlslib.pki import CertificateAuthority
from mtlslib.tls import capture_handshake

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
# The rules of WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (headings in order,
# landmarks, empty table headers).
AXE_RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
             "resultTypes": ["violations"]}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
NBCONVERT_PLACEHOLDER = "No description has been provided for this image"


# --- the text alternatives, without a browser -------------------------------------------------------

def test_a_sequence_diagram_is_described_message_by_message(ca, server_cert, client_cert):
    text = sequence_diagram(capture_handshake(server_cert, client_cert, trust=ca), title="Mutual TLS").description
    steps = ["Mutual TLS:", "flight 1, client to server, in clear text: ClientHello",
             "flight 2, server to client, in clear text: ServerHello",
             "server to client, encrypted: CertificateRequest",
             "client to server, encrypted: Certificate / CN=alice@example.test",
             "client to server, encrypted: Finished"]
    positions = [text.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), text


def test_a_refused_handshake_names_the_failed_message_and_the_alert():
    root = CertificateAuthority.create("Alt Text Root CA")
    text = sequence_diagram(capture_handshake(root.issue_server("localhost", validity="expired"),
                                              trust=root)).description
    assert "server to client, failed: \u2717 Certificate" in text
    assert "client to server, failed: Alert / certificate expired" in text


def test_a_chain_is_described_by_its_subjects_and_who_signed_whom(ca, server_cert):
    text = chain_diagram(server_cert, trust=ca).description
    assert "leaf; subject: CN=localhost" in text and "SAN: DNS:localhost" in text
    assert "intermediate CA (CN=Test Issuing CA) signed leaf (CN=localhost)" in text
    assert "(CN=Test Root CA) signed intermediate CA (CN=Test Issuing CA)" in text
    stranger = CertificateAuthority.create("Alt Text Stranger CA")
    assert "no trusted issuer for CN=Test Root CA" in chain_diagram(server_cert, trust=stranger).description


def test_a_diagram_names_itself_in_its_svg_and_its_output_metadata(ca, server_cert):
    diagram = chain_diagram(server_cert, trust=ca)
    svg = diagram.pipe("svg").decode()
    assert '<svg role="img" aria-label="leaf; subject: CN=localhost' in svg
    data, metadata = diagram._repr_mimebundle_()
    assert metadata["image/svg+xml"]["alt"] == diagram.description == describe_dot(data["text/plain"])


def test_a_figure_is_described_by_its_titles_axes_categories_and_series():
    figure = new_figure(8, 3)
    left, right = figure.subplots(1, 2)
    figure.suptitle("Handshakes")
    left.plot([1, 2], [3, 4], label="TLS 1.3")
    left.plot([1, 2], [4, 5], label="mTLS 1.3, resumed")
    left.legend()
    left.set(title="Time", xlabel="round trip (ms)", ylabel="median (ms)", yscale="log")
    right.barh([0, 1], [10, 20])
    right.set_yticks([0, 1], ["client sent", "server sent"])
    right.set_xlabel("bytes")
    assert describe_figure(figure) == (
        'Handshakes. Panel 1 of 2 "Time": x axis: round trip (ms); y axis: median (ms) (log scale); '
        'series: "TLS 1.3", "mTLS 1.3, resumed". Panel 2 of 2: x axis: bytes; '
        'y categories: "client sent", "server sent".')
    assert repr(figure).startswith("<Figure size")  # the text nbval compares is unchanged
    data, metadata = figure._repr_mimebundle_()
    assert metadata == {"image/png": {"alt": describe_figure(figure)}}
    # The PNG it draws itself, at the size it was given (8 x 3 inches at 100 dots per inch).
    png = base64.b64decode(data["image/png"])
    assert png.startswith(b"\x89PNG") and struct.unpack(">II", png[16:24]) == (800, 300)
    # A frontend that leaves the PNG out gets only the text alternative, and nothing is drawn.
    for asked in ({"include": {"text/plain"}}, {"exclude": {"image/png"}}):
        assert figure._repr_mimebundle_(**asked) == ({}, metadata)


# --- axe-core on every page ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> list[Path]:
    return build_html(NOTEBOOKS, tmp_path_factory.mktemp("html"))


def test_every_picture_of_the_edition_has_a_text_alternative(edition):
    from bs4 import BeautifulSoup

    for page in edition:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), features="html.parser")
        assert soup.html.get("lang") == "en", f"{page.name}: the page language is not set"
        for picture in soup.select("img"):
            alt = picture.get("alt", "")
            assert alt != NBCONVERT_PLACEHOLDER and len(alt) > 20, f"{page.name}: a picture without words: {alt!r}"


@pytest.mark.timeout(300)
def test_axe_core_finds_no_serious_or_critical_violation_on_any_page(edition):
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed")
    axe_module = pytest.importorskip("axe_playwright_python.sync_playwright",
                                     reason="axe-playwright-python is not installed (requirements.txt pins it)")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    axe, found = axe_module.Axe(), {}
    assert len(edition) == 1 + len(list(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")))
    with sync_api.sync_playwright() as playwright:  # one browser, one tab, every page
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page()
            for page in edition:
                tab.goto(page.as_uri())
                for violation in axe.run(tab, options=AXE_RULES).response["violations"]:
                    if violation["impact"] in ("serious", "critical"):
                        found.setdefault(page.name, []).append(
                            f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])} elements): "
                            f"{violation['nodes'][0]['html'][:120]}")
        finally:
            browser.close()
    assert not found, "\n".join(f"{name}: {problem}" for name, problems in found.items() for problem in problems)
