"""Rewrite one generated block of the README: the text between ``<!-- bench-NAME:start -->`` and
``<!-- bench-NAME:end -->``, written by the benchmark that measured it (never edited by hand)."""
from __future__ import annotations

import argparse
import json
import os
import re
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"


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
    _write_atomically(readme, block.sub(lambda _: f"{start}\n{body.strip()}\n{end}", text))


def write_results(name: str, figures: dict, markdown: Callable[[dict], str], block: Callable[[dict], str]) -> None:
    """Write a full run's ``benchmarks/RESULTS-<name>.md`` (``markdown(figures)``) and ``.json``
    (``figures``), and the README block ``name`` (``block(figures)``). Raises ``SystemExit`` for a
    quick run: only full runs' figures are published."""
    if figures.get("mode") != "full":
        raise SystemExit(f"only a full run's figures go into RESULTS-{name}.md and the README")
    _write_atomically(HERE / f"RESULTS-{name}.md", markdown(figures))
    _write_atomically(HERE / f"RESULTS-{name}.json", json.dumps(figures, indent=2, default=str) + "\n")
    write_block(name, block(figures))
    print(f"written RESULTS-{name}.md, RESULTS-{name}.json and the README block {name}")


def add_results_options(parser: argparse.ArgumentParser, name: str) -> None:
    """The options of a benchmark that publishes ``RESULTS-<name>``: ``--json FILE`` (also write the
    figures there, see :func:`publish`) and ``--render FILE`` (see :func:`render`)."""
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--render", type=Path, help=f"only rewrite RESULTS-{name}.md and the README block from the "
                                                    "JSON of an earlier full run (--json)")


def publish(name: str, figures: dict, json_path: Path | None, full: bool, markdown: Callable[[dict], str],
            block: Callable[[dict], str]) -> None:
    """The end of a benchmark run: ``figures`` written to ``json_path`` (``--json``) if given, and
    a ``full`` run's results (:func:`write_results`)."""
    if json_path is not None:
        _write_atomically(json_path, json.dumps(figures, indent=2, default=str) + "\n")
        print(f"written {json_path}")
    if full:
        write_results(name, figures, markdown, block)


def render(name: str, figures_json: Path, markdown: Callable[[dict], str], block: Callable[[dict], str]) -> None:
    """:func:`write_results` from the JSON an earlier full run wrote (``--render``)."""
    write_results(name, json.loads(figures_json.read_text(encoding="utf-8")), markdown, block)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
