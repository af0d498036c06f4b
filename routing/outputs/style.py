"""One visual language for the PNG maps and map.html: colours, road classes, damage markers."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import numpy as np

from ..results import ScenarioResult

BEFORE_COLOUR = "#1f5fa8"  # routes before the damage
AFTER_COLOUR = "#e8730c"  # new parts of routes after the damage
UNCHANGED_COLOUR = "#9fb4cc"  # parts of changed routes that stay the same
BROKEN_COLOUR = "#d62728"  # destroyed / closed
DEGRADED_COLOUR = "#8e44ad"  # degraded (restricted)
EVAC_COLOUR = "#2ca02c"  # evacuation routes
FLOW_COLOUR = "#a9dba0"  # evacuation max-flow: EVAC_COLOUR lightened and opaque (overlaps do not darken)
PLACE_COLOUR = "#222222"
NETWORK_COLOUR = "#8c8c8c"

# Road classes from major to minor: (highway values, colour, line width in points). Real networks
# have thousands of minor streets: they are drawn faintest, major roads carry the picture.
ROAD_TIERS: tuple[tuple[frozenset[str], str, float], ...] = (
    (frozenset({"motorway", "motorway_link", "trunk", "trunk_link"}), "#7d7d7d", 1.4),
    (frozenset({"primary", "primary_link"}), "#939393", 1.1),
    (frozenset({"secondary", "secondary_link", "tertiary", "tertiary_link"}), "#b3b3b3", 0.7),
)
MINOR_ROAD = ("#d2d2d2", 0.35)  # every other class

# Damage markers by effect: (matplotlib marker, HTML symbol on the map.html marker, colour, legend
# text). The HTML symbols are plain characters every sans-serif font has (a headless browser has no
# emoji font); "closed" is a white bar, like a no-entry sign.
EFFECT_MARKERS: dict[str, tuple[str, str, str, str]] = {
    "destroyed": ("X", "✕", BROKEN_COLOUR, "destroyed"),
    "closed": ("o", "<span style='display:inline-block;width:14px;height:4px;background:white;"
                    "vertical-align:middle'></span>", BROKEN_COLOUR, "closed"),
    "area denied": ("s", "■", BROKEN_COLOUR, "area denied"),
    "degraded": ("^", "!", DEGRADED_COLOUR, "degraded"),
    "restricted": ("v", "!", DEGRADED_COLOUR, "restricted (vehicle limits)"),
}


def road_tier(highway: str) -> tuple[int, str, float]:
    """(tier, colour, line width) of a ``highway`` value (a merged edge's ``"a; b"``: its first class)."""
    first = highway.split(";")[0].strip()
    for i, (classes, colour, width) in enumerate(ROAD_TIERS):
        if first in classes:
            return i, colour, width
    return len(ROAD_TIERS), *MINOR_ROAD


def short_name(event: str) -> str:
    """An event's name without its parenthetical detail ("Rastan bridge (M5 ...)" -> "Rastan bridge")."""
    return textwrap.shorten(event.split(" (")[0] or event, 40)


def event_caption(event: str, effect: str, width: int = 28) -> str:
    """Label of a damage marker: the event's name and what happened (unless the name says it),
    wrapped to ``width`` characters."""
    said = effect.split()[0].casefold() in event.casefold() or effect[:5].casefold() in event.casefold()
    return textwrap.fill(event if said else f"{event}: {effect}", width=width)


PAD = 0.08  # map extent margin around places and damage, share of the larger span
MIN_SPAN_M = 2_000.0  # smallest map extent (metres)
METRES_PER_DEGREE = 111_320.0  # along a meridian; along a parallel times cos(latitude)


def cos_lat(lat: float) -> float:
    """cos(latitude): east-west metres per degree of longitude, relative to north-south."""
    return max(float(np.cos(np.radians(lat))), 1e-6)


def map_extent(result: ScenarioResult, markers: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    """West, east, south, north (degrees) holding every place and every damage marker
    (``result.damage_markers_gdf()``), with a margin (``PAD``) and at least ``MIN_SPAN_M`` across;
    the network's extent only when there is neither (one long road does not stretch a map)."""
    xs = list(result.places["lon"]) + list(markers.geometry.x if len(markers) else [])
    ys = list(result.places["lat"]) + list(markers.geometry.y if len(markers) else [])
    if not xs:
        xs = [d["x"] for _, d in result.graph.nodes(data=True)]
        ys = [d["y"] for _, d in result.graph.nodes(data=True)]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    c = cos_lat((y0 + y1) / 2)
    span = max((x1 - x0) * c, y1 - y0, MIN_SPAN_M / METRES_PER_DEGREE)  # degrees of latitude
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half_x = max((x1 - x0) / 2 + PAD * span / c, MIN_SPAN_M / METRES_PER_DEGREE / 2 / c)
    half_y = max((y1 - y0) / 2 + PAD * span, MIN_SPAN_M / METRES_PER_DEGREE / 2)
    return cx - half_x, cx + half_x, cy - half_y, cy + half_y


def one_direction(gdf: gpd.GeoDataFrame, *, by: str | None = None) -> gpd.GeoDataFrame:
    """Edges (columns u, v) with a reverse twin (the same value in column ``by``, if given) kept
    once: a two-way road is two directed edges on one line, and two dashed lines on top of each
    other look solid."""
    if not len(gdf):
        return gdf
    tags = list(gdf[by]) if by else [None] * len(gdf)
    pairs = set(zip(gdf["u"], gdf["v"], tags))
    keep = [u < v or (v, u, t) not in pairs for u, v, t in zip(gdf["u"], gdf["v"], tags)]
    return gdf[keep]
