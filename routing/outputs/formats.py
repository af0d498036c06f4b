"""Plain formats every output shares: JSON-safe values, Markdown tables, atomic JSON files."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import pandas as pd

from ..files import atomic_path


def json_clean(value: Any) -> Any:
    """JSON-safe: NaN -> None, numpy scalars -> Python, dates and paths -> text."""
    if isinstance(value, dict):
        return {str(k): json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    if isinstance(value, (dt.date, Path)):
        return str(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(doc: dict[str, Any], path: Path) -> None:
    """Write ``doc`` (already JSON-safe) as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False), encoding="utf-8")


_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")


def md_text(value: Any) -> str:
    """Text from OpenStreetMap or a user's file made inert in Markdown: ``&``, ``<``, ``>`` as
    HTML entities (no tags), Markdown punctuation (``\\ ` * _ [ ] | ~``) backslash-escaped (no
    links, images, emphasis or table breaks), line breaks as spaces (no new blocks)."""
    text = html.escape(" ".join(str(value).split()), quote=False)
    return _MARKDOWN.sub(r"\\\1", text)


def md_cell(value: Any) -> str:
    """One Markdown table cell: floats with 1-2 decimals, booleans yes/no, missing as a dash,
    text escaped by :func:`md_text`."""
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return md_text(value) if value not in ("", None) else "—"


def md_table(df: pd.DataFrame | None, columns: dict[str, str]) -> str:
    """A Markdown table of ``df``'s ``columns`` (column -> heading); ``_none_`` when empty."""
    if df is None or len(df) == 0:
        return "_none_\n"
    df = df[[c for c in columns if c in df.columns]].rename(columns=columns)
    lines = ["| " + " | ".join(df.columns) + " |", "|" + "---|" * len(df.columns)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(md_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def vehicle_line(model: dict[str, Any]) -> str:
    """The report's line saying which vehicle was routed and what the road model did for it."""
    cap = f", at most {model['max_speed_kph']:g} km/h" if model["max_speed_kph"] else ""
    signals = (f"; {model['signal_delay_s']:g} s per traffic signal passed ({model['traffic_signals_on_edges']:,} "
               "signal passages on its roads)") if "signal_delay_s" in model else ""
    return (f"- vehicle: **{model['profile']}** ({model['weight_t']:g} t, {model['height_m']:g} m high, "
            f"{model['width_m']:g} m wide, {model['length_m']:g} m long{cap}); "
            f"{model['edges_closed_to_vehicle']:,} directed edges closed to it (access tags, weight, height, "
            f"width or length limits), {model['edges_destination_only']:,} usable only to reach a destination "
            f"there; {model['turn_restrictions_applied']:,} turn restrictions applied{signals}\n")
