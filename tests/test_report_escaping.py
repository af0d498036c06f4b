"""report.md never carries raw HTML or Markdown from OpenStreetMap text (road names)."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

from conftest import DEMO_OSM, DEMO_SCENARIO

from routing.cli import main
from routing.outputs.formats import md_cell, md_text

EVIL = '<img src=x onerror="alert(1)"> **[click](http://evil.example)** | ![i](http://evil.example/i.png) `x`'


def test_md_text_makes_text_inert():
    text = md_text(EVIL + "\n# heading")
    assert "<" not in text and ">" not in text and "&lt;img" in text
    assert not re.search(r"(?<!\\)[\[\]|*`]", text)  # every bracket, bar, star and backtick escaped
    assert "\n" not in text and md_cell("") == "—" and md_cell("M5") == "M5"


def test_road_names_reach_report_md_escaped(tmp_path):
    network = tmp_path / "evil.osm"
    evil = escape(EVIL, {'"': "&quot;"})
    network.write_text(re.sub(r'k="(name(?::en)?)" v="[^"]*"', lambda m: f'k="{m[1]}" v="{evil}"',
                              DEMO_OSM.read_text(encoding="utf-8")), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["-q", "run", str(DEMO_SCENARIO), "--network", str(network), "--out", str(out), "--no-maps"]) == 0
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "&lt;img src=x" in report  # the names are there (bottleneck, routes), as text
    assert "<img" not in report
    assert not re.search(r"(?<!\\)\]\(http://evil", report) and "**[click]" not in report  # no live link
    assert main(["-q", "criticality", str(DEMO_SCENARIO), "--network", str(network), "--out", str(tmp_path / "c"),
                 "--serial", "--top", "5"]) == 0
    table = (tmp_path / "c" / "criticality.md").read_text(encoding="utf-8")
    assert "<img" not in table and not re.search(r"(?<!\\)\]\(http://evil", table)
