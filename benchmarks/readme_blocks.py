"""Rewrite one generated block of the README: the text between ``<!-- bench-NAME:start -->`` and
``<!-- bench-NAME:end -->``, written by the benchmark that measured it (never edited by hand)."""
from __future__ import annotations

import os
import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def markers(name: str) -> tuple[str, str]:
    """The start and end markers of block ``name`` (e.g. ``"engine"``)."""
    return f"<!-- bench-{name}:start -->", f"<!-- bench-{name}:end -->"


def write_block(name: str, body: str, readme: Path = README) -> None:
    """Replace the README's block ``name`` by ``body`` (markdown, without the markers), atomically.

    Raises ``SystemExit`` when the README has no such block, so a renamed block is noticed.
    """
    start, end = markers(name)
    text = readme.read_text(encoding="utf-8")
    block = re.compile(re.escape(start) + ".*?" + re.escape(end), re.DOTALL)
    if not block.search(text):
        raise SystemExit(f"{readme}: no block {start} ... {end}")
    new = block.sub(lambda _: f"{start}\n{body.strip()}\n{end}", text)
    tmp = readme.with_name(f".{readme.name}.{os.getpid()}.tmp")
    tmp.write_text(new, encoding="utf-8")
    os.replace(tmp, readme)
