"""Vehicle profiles on OSM tags: who may use a road (access), whether the vehicle fits (weight,
height, width, length limits) and how fast it goes. The profile table is ``settings.PROFILES``.

Access follows the OSM hierarchy: of ``access`` < ``vehicle`` < ``motor_vehicle`` <
``motorcar``/``hgv``, the most specific key present decides. ``no``/``private`` close the road to
the vehicle; ``destination``/``delivery``/``customers`` open it only to reach or leave a place on
it (never as a through road); anything else opens it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..settings import BLOCKED_ACCESS, DESTINATION_ACCESS, PROFILES, VehicleProfile
from .attributes import edge_speed_kph, maxspeed_kph

OPEN, DESTINATION, CLOSED = "open", "destination", "closed"
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?")
_FEET_INCHES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*'\s*(?:(\d+(?:\.\d+)?)\s*\")?\s*$")


@dataclass(frozen=True)
class Vehicle:
    """The vehicle a profile routes: the profile plus its dimensions (tonnes, metres)."""

    profile: VehicleProfile
    weight_t: float
    height_m: float
    width_m: float
    length_m: float

    @property
    def name(self) -> str:
        return self.profile.name


def vehicle(profile: str = "car", **dimensions: float | None) -> Vehicle:
    """The vehicle of ``profile`` (a ``settings.PROFILES`` key) with optional dimensions
    (``weight_t``, ``height_m``, ``width_m``, ``length_m``) replacing the profile's defaults."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    p = PROFILES[profile]
    given = {k: v for k, v in dimensions.items() if v is not None}
    unknown = set(given) - {"weight_t", "height_m", "width_m", "length_m"}
    if unknown:
        raise ValueError(f"unknown vehicle dimension(s) {sorted(unknown)}")
    return Vehicle(p, given.get("weight_t", p.weight_t), given.get("height_m", p.height_m),
                   given.get("width_m", p.width_m), given.get("length_m", p.length_m))


def _values(value: Any) -> list[str]:
    """A tag value (or a list of them on a merged edge) as lower-case strings, ';'-lists split."""
    items = value if isinstance(value, list) else [value]
    return [part.strip().lower() for v in items if isinstance(v, str) for part in v.split(";") if part.strip()]


def access(tags: Mapping[str, Any], profile: VehicleProfile) -> str:
    """``OPEN``, ``DESTINATION`` or ``CLOSED`` for the profile's vehicle on a road with ``tags``."""
    decided = None
    for key in profile.access_keys:  # most general first: the last one present wins
        values = _values(tags.get(key))
        if values:
            decided = values
    if decided is None:
        return OPEN
    if any(v in BLOCKED_ACCESS for v in decided):  # merged or ';'-lists: the most restrictive
        return CLOSED
    if any(v in DESTINATION_ACCESS for v in decided):
        return DESTINATION
    return OPEN


def usable_by_any_profile(tags: Mapping[str, Any]) -> bool:
    """Whether some profile's vehicle may use the road at all (the loader keeps only these)."""
    return any(access(tags, p) != CLOSED for p in PROFILES.values())


def weight_t(value: Any) -> float | None:
    """An OSM weight limit in tonnes (``"7.5"``, ``"7.5 t"``, ``"12000 kg"``, ``"20000 lbs"``); None when
    absent or not a limit (``none``, ``default``, unparsable). A list gives its smallest limit."""
    limits = [w for w in (_one_weight(v) for v in _values(value)) if w is not None]
    return min(limits) if limits else None


def _one_weight(text: str) -> float | None:
    number = _NUMBER.search(text)
    if number is None:
        return None
    n = float(number.group())
    if "kg" in text:
        n /= 1000.0
    elif "lb" in text:
        n *= 0.45359237 / 1000.0
    return n if n > 0 else None


def length_m(value: Any) -> float | None:
    """An OSM height/width/length limit in metres (``"4.2"``, ``"4.2 m"``, ``"14'6\\""``,
    ``"13 ft"``); None when absent or not a limit. A list gives its smallest limit."""
    limits = [m for m in (_one_length(v) for v in _values(value)) if m is not None]
    return min(limits) if limits else None


def _one_length(text: str) -> float | None:
    feet = _FEET_INCHES.match(text)
    if feet:
        return float(feet.group(1)) * 0.3048 + float(feet.group(2) or 0) * 0.0254
    number = _NUMBER.search(text)
    if number is None:
        return None
    n = float(number.group())
    if "ft" in text:
        n *= 0.3048
    elif "cm" in text:
        n /= 100.0
    return n if n > 0 else None


def fits(tags: Mapping[str, Any], v: Vehicle) -> bool:
    """Whether the vehicle is within the road's weight, height, width and length limits."""
    weight = weight_t(tags.get("maxweight:hgv")) if v.name == "truck" else None
    weight = weight if weight is not None else weight_t(tags.get("maxweight"))
    checks = ((weight, v.weight_t), (length_m(tags.get("maxheight")), v.height_m),
              (length_m(tags.get("maxwidth")), v.width_m), (length_m(tags.get("maxlength")), v.length_m))
    return all(limit is None or size <= limit + 1e-9 for limit, size in checks)


def speed_kph(tags: Mapping[str, Any], profile: VehicleProfile) -> float:
    """Free-flow speed (km/h): the profile's maxspeed tag, else ``maxspeed``, else the road class
    default (``settings.ROAD_CLASSES``), capped at the profile's top speed."""
    speed = maxspeed_kph(tags.get(profile.maxspeed_key)) if profile.maxspeed_key else None
    if speed is None:
        speed = edge_speed_kph(tags)
    return min(speed, profile.max_speed_kph) if profile.max_speed_kph else speed
