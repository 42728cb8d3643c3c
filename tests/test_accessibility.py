"""The reading edition meets WCAG 2.1 AA: axe-core finds no serious or critical violation on any
page it builds (whatever chapters exist), and every figure says in words what it shows.

The text alternatives are unit-tested without a browser; the axe-core run needs Playwright,
axe-playwright-python and Debian's Chromium, and is skipped with the reason shown without them.
"""

from __future__ import annotations

import os
from pathlib import Path
from xml.etree import ElementTree

import pytest

from mtlslib.course.environment import CHROMIUM
from mtlslib.course.reading import build_html
from mtlslib.display import describe_dot
from mtlslib.display.chart import Chart
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


def test_a_chart_is_described_by_its_titles_axes_categories_and_series():
    chart = Chart(800, 300, 2, title="Handshakes")
    left, right = chart.panels
    left.line([1, 2], [3, 4], colour="#2563eb", label="TLS 1.3")
    left.line([1, 2], [4, 5], colour="#d97706", dash=":", label="mTLS 1.3, resumed")
    left.title, left.x.label, left.y.label, left.y.scale = "Time", "round trip (ms)", "median (ms)", "log"
    right.y_categories(["client sent", "server sent"])
    right.rect(0, 10, -0.3, 0.3, colour="#d97706")
    right.rect(0, 20, 0.7, 1.3, colour="#2563eb")
    right.x.label = "bytes"
    assert chart.describe() == (
        'Handshakes. Panel 1 of 2 "Time": x axis: round trip (ms); y axis: median (ms) (log scale); '
        'series: "TLS 1.3", "mTLS 1.3, resumed". Panel 2 of 2: x axis: bytes; '
        'y categories: "client sent", "server sent".')
    data, metadata = chart._repr_mimebundle_()
    assert metadata == {"image/svg+xml": {"alt": chart.describe()}}
    assert data["text/plain"] == "<Chart 800x300 with 2 panels>"  # the text nbval compares
    svg = ElementTree.fromstring(data["image/svg+xml"])
    assert (svg.get("role"), svg.get("aria-label")) == ("img", chart.describe())
    assert (svg.get("width"), svg.get("height")) == ("800", "300")


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
