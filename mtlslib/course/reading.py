"""The reading edition: ``make html`` (``python -m mtlslib.course.reading NOTEBOOK_DIR OUT_DIR``).

Builds an offline HTML edition from the *committed* outputs (nothing is re-run): an index page
with the learning path, one page per chapter with previous / next links, and the figures.
Offline means no CDN: the pages drop nbconvert's require.js and MathJax script tags and carry
their mathematics as MathML (converted here from the notebooks' LaTeX), which browsers render
natively.

The pages meet WCAG 2.1 AA (``tests/test_accessibility.py`` runs axe-core on every one): the
prompts and the syntax highlighting get colours with at least 4.5:1 contrast, links in text are
underlined, and every picture has a text alternative written from the figure itself: the
``alt`` its output carries (mtlslib's diagrams and charts), an SVG's own ``aria-label``, or its DOT
source (the course's ``images/``, whose DOT source lies beside them).
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

from mtlslib.display import describe_dot
from mtlslib.errors import UsageError

from .command import edition_command
from .map import Chapter, chapters

try:  # the "reading" extra: only building the reading edition needs these
    import latex2mathml.converter
    import nbformat
    from bs4 import BeautifulSoup
    from nbconvert import HTMLExporter
    from nbconvert.filters import DataTypeFilter
except ImportError as missing:
    _MISSING: str | None = missing.name
else:
    _MISSING = None

__all__ = ["build_html"]

_DISPLAY_MATH = re.compile(r"\$\$(.+?)\$\$", re.S)
# Inline math: $...$ on one line, not a price ("$5") and not an escaped dollar.
_INLINE_MATH = re.compile(r"(?<![\\$\w])\$(?!\s)([^$\n]+?)(?<!\s)\$(?![\w$])")
_CHAPTER_LINK = re.compile(r"(\b\d\d_[A-Za-z0-9_]+)\.ipynb\b")
# Scripts that would fetch code from a CDN (require.js, MathJax, mermaid): an offline page has none.
_REMOTE_SCRIPT = re.compile(r"<script\b[^>]*>(?:(?!</script>).)*?</script>\s*", re.I | re.S)
# A picture the notebook loads from the course's images/ (its DOT source lies beside it).
_IMAGE_FILE = re.compile(r"images/([\w.-]+)\.svg")
_PICTURES = ("image/svg+xml", "image/png", "image/jpeg")
_MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)

_STYLE = """
<style>
  .course-nav { font-family: system-ui, sans-serif; display: flex; justify-content: space-between;
                max-width: 1100px; margin: 1em auto; padding: 0.6em 1em; border: 1px solid #e5e7eb;
                border-radius: 8px; background: #f9fafb; }
  .course-nav a { text-decoration: none; color: #1d4ed8; }
  math[display="block"] { margin: 0.8em 0; }
  /* WCAG 2.1 AA: at least 4.5:1 on the code cells' grey (#f5f5f5) and on white. JupyterLab's
     prompts are grey at half opacity (2.16:1); several highlighting colours fall just short. */
  :root {
    --jp-cell-prompt-not-active-opacity: 1; --jp-cell-prompt-opacity: 1;
    --jp-cell-prompt-not-active-font-color: #616161;
    --jp-mirror-editor-operator-color: #7a1fb8; --jp-mirror-editor-meta-color: #7a1fb8;
    --jp-mirror-editor-comment-color: #2f6363; --jp-mirror-editor-number-color: #006400;
    --jp-mirror-editor-keyword-color: #007000; --jp-mirror-editor-builtin-color: #007000;
    --jp-mirror-editor-quote-color: #006b00; --jp-mirror-editor-atom-color: #4b4bd6;
    --jp-mirror-editor-bracket-color: #6b6b4f; --jp-mirror-editor-hr-color: #666666;
    --jp-mirror-editor-error-color: #c00000;
  }
  .jp-InputPrompt, .jp-OutputPrompt { color: #616161; opacity: 1; }
  /* A link in a sentence must not differ by colour alone. */
  .jp-RenderedHTMLCommon a:link, .jp-RenderedHTMLCommon a:visited { text-decoration: underline; }
</style>
"""


def _latex_to_mathml(markdown: str) -> str:
    def display(match: re.Match) -> str:
        return latex2mathml.converter.convert(match.group(1).strip(), display="block")

    def inline(match: re.Match) -> str:
        return latex2mathml.converter.convert(match.group(1).strip())

    return _INLINE_MATH.sub(inline, _DISPLAY_MATH.sub(display, markdown))


def _prepare(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            source = _CHAPTER_LINK.sub(r"\1.html", cell.source)
            cell.source = _latex_to_mathml(source).replace("../images/", "images/")
    return notebook


def _text_alternative(output: dict, cell_source: str, images: Path) -> str | None:
    """What a picture output shows, in words (None: nothing to say it from)."""
    for mime in _PICTURES:
        alt = output.get("metadata", {}).get(mime, {}).get("alt")
        if alt:
            return alt
    plain = output.get("data", {}).get("text/plain", "")
    if re.match(r"(?:strict\s+)?(?:di)?graph\b", plain):
        return describe_dot(plain)
    named = _IMAGE_FILE.search(cell_source)
    if named and (images / f"{named.group(1)}.dot").is_file():
        return describe_dot((images / f"{named.group(1)}.dot").read_text(encoding="utf-8"))
    label = re.search(r'<svg\b[^>]*\baria-label="([^"]+)"', output.get("data", {}).get("image/svg+xml", ""))
    return html.unescape(label.group(1)) if label else None


def _text_alternatives(notebook: nbformat.NotebookNode, priority: list[str], images: Path) -> list[str | None]:
    """One entry per picture the page shows, in page order: an output shows the first of its
    formats in nbconvert's priority order, and only some of those are pictures."""
    alternatives = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            shown = next((mime for mime in priority if mime in output.get("data", {})), None)
            if shown in _PICTURES:
                alternatives.append(_text_alternative(output, cell.source, images))
    return alternatives


def _accessible(body: str, alternatives: list[str | None], name: str) -> str:
    """The page with a text alternative on every picture, header cells that head something and named landmarks."""
    soup = BeautifulSoup(body, features="html.parser")
    pictures = soup.select(".jp-RenderedImage img, .jp-RenderedSVG img")
    if len(pictures) != len(alternatives):
        raise UsageError(f"{name}: {len(pictures)} pictures on the page but {len(alternatives)} in the notebook")
    missing = 0
    for picture, alternative in zip(pictures, alternatives):
        if alternative is None:
            missing += 1
        else:
            picture["alt"] = alternative
    if missing:
        raise UsageError(f"{name}: {missing} picture(s) without a text alternative: draw them with mtlslib's "
                         "figure functions, or load a picture of images/ that has its DOT source beside it")
    # A comparison table's empty corner is no header: its rows are headed by their first cells.
    for corner in soup.select("table > thead > tr > th:first-child"):
        if not corner.get_text(strip=True):
            corner.name = "td"
            for first in corner.find_parent("table").select("tbody > tr > td:first-child"):
                first.name, first["scope"] = "th", "row"
    # The edition's two navigation bars are landmarks: each needs a name of its own.
    for position, nav in zip(("top", "bottom"), soup.select("nav.course-nav")):
        nav["aria-label"] = f"Chapters ({position} of the page)"
    return str(soup)


def _nav(previous: Chapter | None, following: Chapter | None) -> str:
    def link(chapter: Chapter | None, arrow: str) -> str:
        if chapter is None:
            return "<span></span>"
        target = chapter.notebook.replace(".ipynb", ".html")
        return f'<a href="{target}">{arrow} {html.escape(chapter.title)}</a>'

    return (f'<nav class="course-nav">{link(previous, "&larr;")}<a href="index.html">Contents</a>'
            f'{link(following, "&rarr;")}</nav>')


def _drop_remote_scripts(body: str) -> str:
    return _REMOTE_SCRIPT.sub(lambda m: "" if re.search(r"https?://", m.group(0)) else m.group(0), body)


def _page(body: str, nav: str) -> str:
    body = _MATHJAX_CONFIG.sub("", _drop_remote_scripts(body))
    body = body.replace("</head>", _STYLE + "</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + nav, body, count=1)
    return body.replace("</body>", nav + "</body>", 1)


def _index(items: list[Chapter]) -> str:
    rows = "\n".join(
        f'<li><a href="{c.notebook.replace(".ipynb", ".html")}">{html.escape(c.title)}</a>'
        f"<p>{html.escape(c.goal)}</p></li>" for c in items)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>TLS and mutual TLS, hands-on</title>{_STYLE}
<style>body {{ font-family: system-ui, sans-serif; max-width: 900px; margin: 2em auto; line-height: 1.5; }}
li {{ margin-bottom: 1em; }} li p {{ margin: 0.2em 0; color: #374151; }}</style></head>
<body><main><h1>TLS and mutual TLS, hands-on</h1>
<p>The reading edition of the course: every page shows the outputs of a real run. To run the
chapters yourself, clone the repository and type <code>make lab</code>.</p>
<h2>The learning path</h2>
<ol>
{rows}
</ol></main></body></html>
"""


def build_html(notebook_dir: Path, out_dir: Path) -> list[Path]:
    """Write the edition into ``out_dir``; return the pages written (index first)."""
    if _MISSING:
        raise UsageError(f"the reading edition needs the {_MISSING} package: pip install 'mtlslib[reading]' "
                         "(make html installs everything)")
    notebook_dir, out_dir = Path(notebook_dir), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = notebook_dir.parent / "images"
    if images.is_dir():
        shutil.copytree(images, out_dir / "images", dirs_exist_ok=True)
    items = chapters(notebook_dir)
    exporter = HTMLExporter(template_name="lab")
    priority = DataTypeFilter(parent=exporter).display_data_priority  # which format an output shows
    pages = [out_dir / "index.html"]
    pages[0].write_text(_index(items), encoding="utf-8")
    for position, chapter in enumerate(items):
        notebook = _prepare(nbformat.read(notebook_dir / chapter.notebook, as_version=4))
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": chapter.title}})
        previous = items[position - 1] if position else None
        following = items[position + 1] if position + 1 < len(items) else None
        page = out_dir / chapter.notebook.replace(".ipynb", ".html")
        alternatives = _text_alternatives(notebook, priority, images)
        page_html = _page(body, _nav(previous, following))
        page.write_text(_accessible(page_html, alternatives, chapter.notebook), encoding="utf-8")
        pages.append(page)
    return pages


def main(argv: list[str] | None = None) -> int:
    def build(notebook_dir: Path, out_dir: Path) -> str:
        return f"wrote {len(build_html(notebook_dir, out_dir))} pages to {out_dir} (open {out_dir}/index.html)"

    return edition_command(argv, "reading", "OUT_DIR", build)


if __name__ == "__main__":
    sys.exit(main())
