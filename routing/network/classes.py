"""Which OSM ways are roads of which class, which direction they run, and clip areas."""

from __future__ import annotations

from collections.abc import Iterable

from shapely.geometry import Polygon, box

from ..errors import NetworkLoadError
from ..settings import CLASS_SETS
from .profiles import usable_by_any_profile

ONEWAY_VALUES = frozenset({"yes", "true", "1", "-1", "reverse", "T", "F"})  # as osmnx
REVERSED_VALUES = frozenset({"-1", "reverse", "T"})
FILTER_KEYS = ("area",)  # tags is_drivable reads besides settings.EDGE_TAGS

BBox = tuple[float, float, float, float]  # west, south, east, north (degrees)


def resolve_classes(road_classes: str | Iterable[str]) -> frozenset[str]:
    """A named class set ("drive", "major", "drive_service") or an explicit list of highway values."""
    if isinstance(road_classes, str):
        if road_classes not in CLASS_SETS:
            raise NetworkLoadError(f"unknown road class set; use one of {sorted(CLASS_SETS)} or a list",
                                   field="road_classes", value=road_classes)
        return CLASS_SETS[road_classes]
    return frozenset(road_classes)


def is_drivable(tags: dict[str, str], classes: frozenset[str]) -> bool:
    """True when a way's tags make it a road of one of ``classes`` that some vehicle profile may
    use (``settings.PROFILES``; which vehicle may use it is decided when routing)."""
    return tags.get("highway") in classes and tags.get("area") != "yes" and usable_by_any_profile(tags)


def clip_area(clip: Polygon | BBox | None) -> Polygon | None:
    """A clip polygon from a polygon or a (west, south, east, north) bbox in degrees."""
    if clip is None or isinstance(clip, Polygon):
        return clip
    west, south, east, north = clip
    if not (west < east and south < north):
        raise NetworkLoadError("bbox must be (west, south, east, north) with west<east, south<north",
                               field="bbox", value=tuple(clip))
    return box(west, south, east, north)
