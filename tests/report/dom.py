"""The shape of a report page, read two ways: Python's HTML parser over the file, and the DOM in headless chromium.

A report built from hostile text must have exactly the shape of one built from harmless text: the same
sections, headings, tables and charts, no element or comment the data brought, the same title.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from tests.report.browser import open_offline

# Elements data must never add; a clean report has none of them (its three <meta> are the template's).
FOREIGN = ("a", "form", "input", "button", "script", "iframe", "object", "embed", "base", "link", "img",
           "frame", "frameset", "textarea", "select", "marquee", "foreignobject", "image", "use", "animate", "set")


@dataclass
class Shape:
    """Element counts outside the charts' SVG, comments, the title, and per table its header and row widths."""

    tags: Counter[str] = field(default_factory=Counter)
    comments: int = 0
    title: str = ""
    tables: dict[str, tuple[int, set[int]]] = field(default_factory=dict)  # name -> (header cells, row widths)
    rows: dict[str, int] = field(default_factory=dict)
    svgs: int = 0


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.shape = Shape()
        self.stack: list[str] = []
        self.in_svg = 0
        self.table: str | None = None
        self.row_width = 0
        self.in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "svg":
            self.shape.svgs += 1
            self.in_svg += 1
        if self.in_svg:
            if tag in FOREIGN:
                self.shape.tags[f"svg>{tag}"] += 1
            return
        self.shape.tags[tag] += 1
        if tag == "title":
            self.in_title = True
        if tag == "table":
            self.table = dict(attrs).get("data-table") or "?"
            self.shape.tables[self.table] = (0, set())
            self.shape.rows[self.table] = 0
        elif tag == "th" and self.table:
            header, widths = self.shape.tables[self.table]
            self.shape.tables[self.table] = (header + 1, widths)
        elif tag == "tr" and self.table:
            self.row_width = 0
        elif tag == "td" and self.table:
            self.row_width += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.in_svg -= 1
        if self.in_svg:
            return
        if tag == "title":
            self.in_title = False
        if tag == "tr" and self.table and self.row_width:
            self.shape.tables[self.table][1].add(self.row_width)
            self.shape.rows[self.table] += 1
        if tag == "table":
            self.table = None

    def handle_data(self, data: str) -> None:
        if self.in_title:
            self.shape.title += data

    def handle_comment(self, data: str) -> None:
        self.shape.comments += 1


def parse(html: str) -> Shape:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader.shape


def assert_well_formed(shape: Shape, sections: int = 10) -> None:
    """No foreign element, no comment, every row as wide as its header."""
    assert not {t: n for t, n in shape.tags.items() if t.removeprefix("svg>") in FOREIGN}, shape.tags
    assert shape.comments == 0
    assert shape.tags["section"] == sections and shape.tags["h1"] == 1 and shape.tags["h2"] == sections
    assert shape.tags["meta"] == 3 and shape.tags["title"] == 1 and shape.tags["body"] == 1 and shape.tags["style"] == 1
    for name, (header, widths) in shape.tables.items():
        assert widths <= {header}, (name, header, widths)


READ_DOM = """JSON.stringify({
  href: location.href,
  title: document.title,
  counts: Object.fromEntries(['section', 'h1', 'h2', 'h3', 'table', 'tr', 'th', 'figure', 'svg', 'meta', 'p', 'b',
    'a', 'form', 'input', 'button', 'script', 'iframe', 'object', 'embed', 'base', 'link', 'img', 'foreignObject',
    'textarea', 'select', 'style'].map(t => [t, document.getElementsByTagName(t).length])),
  comments: (() => { const w = document.createTreeWalker(document, NodeFilter.SHOW_COMMENT); let n = 0;
                     while (w.nextNode()) n++; return n; })(),
  sections: [...document.querySelectorAll('body > section')].map(s => s.id),
  widths: Object.fromEntries([...document.querySelectorAll('table[data-table]')].map(t => [t.dataset.table,
    [t.tHead.rows[0].cells.length, [...new Set([...t.tBodies[0].rows].map(r => r.cells.length))]]])),
  rows: Object.fromEntries([...document.querySelectorAll('table[data-table]')].map(t => [t.dataset.table,
    t.tBodies[0].rows.length])),
  cells: [...document.querySelectorAll('td, th')].map(c => c.textContent),
})"""


def in_chromium(path: Path) -> dict[str, Any]:
    """The page's DOM as headless chromium built it (and the requests it made: only the file itself)."""
    page = open_offline(path, READ_DOM)
    assert page.requests == [path.resolve().as_uri()], page.requests
    result: dict[str, Any] = page.result
    assert result["href"] == path.resolve().as_uri()
    return result
