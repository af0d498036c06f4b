"""One visual language for the PNG maps and map.html: colours, road classes, damage markers."""

from __future__ import annotations

import textwrap

BEFORE_COLOUR = "#1f5fa8"  # routes before the damage
AFTER_COLOUR = "#e8730c"  # new parts of routes after the damage
UNCHANGED_COLOUR = "#9fb4cc"  # parts of changed routes that stay the same
BROKEN_COLOUR = "#d62728"  # destroyed / closed
DEGRADED_COLOUR = "#8e44ad"  # degraded (restricted)
EVAC_COLOUR = "#2ca02c"  # evacuation max-flow
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

# Damage markers by effect: (matplotlib marker, Leaflet symbol, colour, legend text)
EFFECT_MARKERS: dict[str, tuple[str, str, str, str]] = {
    "destroyed": ("X", "✕", BROKEN_COLOUR, "destroyed"),
    "closed": ("o", "⛔", BROKEN_COLOUR, "closed"),
    "area denied": ("s", "⛝", BROKEN_COLOUR, "area denied"),
    "degraded": ("^", "!", DEGRADED_COLOUR, "degraded"),
    "restricted": ("v", "⚠", DEGRADED_COLOUR, "restricted (vehicle limits)"),
}


def road_tier(highway: str) -> tuple[int, str, float]:
    """(tier, colour, line width) of a ``highway`` value (a merged edge's ``"a; b"``: its first class)."""
    first = highway.split(";")[0].strip()
    for i, (classes, colour, width) in enumerate(ROAD_TIERS):
        if first in classes:
            return i, colour, width
    return len(ROAD_TIERS), *MINOR_ROAD


def event_caption(event: str, effect: str, width: int = 28) -> str:
    """Label of a damage marker: the event's name and what happened (unless the name says it),
    wrapped to ``width`` characters."""
    said = effect.split()[0].casefold() in event.casefold() or effect[:5].casefold() in event.casefold()
    return textwrap.fill(event if said else f"{event}: {effect}", width=width)
