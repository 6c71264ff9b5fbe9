"""Layout checks of a page loaded in headless Chromium, and of its screenshots.

:func:`measure` reads, in the page: how wide the document is against the window, the
computed font size of every visible piece of text (SVG text at its drawn size: the
font size times the chart's scale), and where each chart is drawn. :func:`check_layout`
asserts what the report promises at any width: nothing wider than the window, no text
below :data:`MIN_TEXT_PX`, every chart inside the window and not squeezed.
:func:`check_png` reads a screenshot's header and pixels (PNG, standard library only).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Final, TypedDict

if TYPE_CHECKING:
    from tests.browser import Tab

#: The two widths the report is made for: a laptop screen and a phone (CSS px).
WIDTHS: Final = (1400, 390)
HEIGHTS: Final = {1400: 900, 390: 844}
#: The smallest text the page may draw, in CSS px (at its drawn size, SVG included).
MIN_TEXT_PX: Final = 12.0
#: A chart is drawn at least this wide (CSS px), or its 400-unit drawing is too cramped.
MIN_CHART_PX: Final = 300.0

_MEASURE_JS: Final = """
() => {
  const visible = el => {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) return false;
    if (el.closest('details:not([open]) > :not(summary)')) return false;
    const style = getComputedStyle(el);
    return style.visibility !== 'hidden' && style.display !== 'none';
  };
  const texts = [];
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || seen.has(el) || el.closest('title')) continue;
    seen.add(el);
    if (!visible(el)) continue;
    let size = parseFloat(getComputedStyle(el).fontSize);
    const svg = el.closest('svg');
    if (svg) size *= svg.getScreenCTM().a;  // user units to CSS px: the chart's scale
    texts.push({tag: el.tagName.toLowerCase(), text: node.textContent.trim().slice(0, 40),
                size: size, svg: !!svg});
  }
  const charts = Array.from(document.querySelectorAll('svg.chart')).filter(visible)
    .map(svg => { const b = svg.getBoundingClientRect();
                  return {left: b.left + scrollX, right: b.right + scrollX, width: b.width}; });
  return {scrollWidth: document.documentElement.scrollWidth,
          bodyScrollWidth: document.body.scrollWidth,
          innerWidth: window.innerWidth, texts: texts, charts: charts};
}
"""


class Text(TypedDict):
    tag: str
    text: str
    size: float
    svg: bool


class Chart(TypedDict):
    left: float
    right: float
    width: float


class Layout(TypedDict):
    scrollWidth: int
    bodyScrollWidth: int
    innerWidth: int
    texts: list[Text]
    charts: list[Chart]


def measure(tab: Tab) -> Layout:
    """The page's widths, visible texts with their drawn sizes, and its charts' boxes."""
    layout: Layout = tab.page.evaluate(_MEASURE_JS)
    return layout


def check_layout(tab: Tab, width: int, *, charts: int | None = None) -> Layout:
    """Assert the page fits ``width``: no sideways scrolling, no text below 12 px, every
    chart inside the window and at least :data:`MIN_CHART_PX` wide (and ``charts`` of
    them, when given). Returns the measurements."""
    layout = measure(tab)
    assert layout["innerWidth"] == width
    assert layout["scrollWidth"] <= width, f"the document is {layout['scrollWidth']} px wide"
    assert layout["bodyScrollWidth"] <= width
    assert len(layout["texts"]) > 20, "too little text measured: the check would be empty"
    small = [t for t in layout["texts"] if t["size"] < MIN_TEXT_PX - 0.05]
    assert not small, f"text below {MIN_TEXT_PX} px at {width} px: {small[:8]}"
    if charts is not None:
        assert len(layout["charts"]) == charts
        assert any(t["svg"] for t in layout["texts"]), "no chart text measured"
    for chart in layout["charts"]:
        assert chart["left"] >= 0 and chart["right"] <= width + 0.5, chart
        assert chart["width"] >= min(MIN_CHART_PX, width - 40), chart
    return layout


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG file, from its IHDR chunk."""
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path} is no PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def _pixel_bytes(path: Path) -> bytes:
    """The decompressed image data (filtered scanlines) of a PNG file."""
    data = path.read_bytes()
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        if kind == b"IDAT":
            chunks.append(data[offset + 8 : offset + 8 + length])
        offset += 12 + length
    return zlib.decompress(b"".join(chunks))


def check_png(path: Path, width: int, *, min_height: int = 200) -> None:
    """A screenshot as wide as the window, not blank: many different byte values in
    its pixel data (a blank page filters down to a handful)."""
    shot_width, shot_height = png_size(path)
    assert shot_width == width, f"{path.name} is {shot_width} px wide, not {width}"
    assert shot_height >= min_height, f"{path.name} is only {shot_height} px high"
    pixels = _pixel_bytes(path)
    assert len(set(pixels)) >= 64, f"{path.name} looks blank"
