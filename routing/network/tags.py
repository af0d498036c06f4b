"""Reading OSM tag values off graph edges: merged edges hold lists, missing values NaN or None."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def tag_text(value: Any, sep: str = "/") -> str | None:
    """A tag value as text; a list (from simplification) joined with ``sep``, each value once;
    None when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, list):
        parts = list(dict.fromkeys(str(x) for x in value if x is not None))
        return sep.join(parts) if parts else None
    return str(value)


def truthy(value: Any) -> bool:
    """Whether a tag such as ``bridge`` or ``tunnel`` is set (not missing, "no" or false)."""
    values = value if isinstance(value, list) else [value]
    return any(v not in (None, False, "no", "False", "false") and not (isinstance(v, float) and math.isnan(v))
               for v in values)


def road_label(data: Mapping[str, Any]) -> str:
    """Readable name of a road edge: ref, English or local name, class; bridge/tunnel marked."""
    ref = tag_text(data.get("ref")) or tag_text(data.get("int_ref"))
    name = tag_text(data.get("name:en")) or tag_text(data.get("name"))
    parts = [p for p in (ref, name) if p] or [tag_text(data.get("highway")) or "road"]
    label = " ".join(parts)
    if truthy(data.get("bridge")):
        label += " (bridge)"
    elif truthy(data.get("tunnel")):
        label += " (tunnel)"
    return label
