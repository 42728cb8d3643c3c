"""The reading edition: ``make html`` (``python -m mtlslib.course.reading NOTEBOOK_DIR OUT_DIR``).

Builds an offline HTML edition from the *committed* outputs (nothing is re-run): an index page
with the learning path, one page per chapter with previous / next links, and the figures.
Offline means no CDN: the pages drop nbconvert's require.js and MathJax script tags and carry
their mathematics as MathML (converted here from the notebooks' LaTeX), which browsers render
natively.
"""

from __future__ import annotations

import html
import re
import shutil
import sys
from pathlib import Path

from mtlslib.errors import UsageError

from .command import edition_command
from .map import Chapter, chapters

try:  # the "reading" extra: only building the reading edition needs these
    import latex2mathml.converter
    import nbformat
    from nbconvert import HTMLExporter
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
_MATHJAX_CONFIG = re.compile(r"<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->", re.S)

_STYLE = """
<style>
  .course-nav { font-family: system-ui, sans-serif; display: flex; justify-content: space-between;
                max-width: 1100px; margin: 1em auto; padding: 0.6em 1em; border: 1px solid #e5e7eb;
                border-radius: 8px; background: #f9fafb; }
  .course-nav a { text-decoration: none; color: #1d4ed8; }
  math[display="block"] { margin: 0.8em 0; }
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
<body><h1>TLS and mutual TLS, hands-on</h1>
<p>The reading edition of the course: every page shows the outputs of a real run. To run the
chapters yourself, clone the repository and type <code>make lab</code>.</p>
<h2>The learning path</h2>
<ol>
{rows}
</ol></body></html>
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
    pages = [out_dir / "index.html"]
    pages[0].write_text(_index(items), encoding="utf-8")
    for position, chapter in enumerate(items):
        notebook = _prepare(nbformat.read(notebook_dir / chapter.notebook, as_version=4))
        body, _ = exporter.from_notebook_node(notebook, resources={"metadata": {"name": chapter.title}})
        previous = items[position - 1] if position else None
        following = items[position + 1] if position + 1 < len(items) else None
        page = out_dir / chapter.notebook.replace(".ipynb", ".html")
        page.write_text(_page(body, _nav(previous, following)), encoding="utf-8")
        pages.append(page)
    return pages


def main(argv: list[str] | None = None) -> int:
    def build(notebook_dir: Path, out_dir: Path) -> str:
        return f"wrote {len(build_html(notebook_dir, out_dir))} pages to {out_dir} (open {out_dir}/index.html)"

    return edition_command(argv, "reading", "OUT_DIR", build)


if __name__ == "__main__":
    sys.exit(main())
