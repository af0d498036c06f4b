"""Every documented default, once: road classes, speeds, capacities, evacuation settings, folders.

Every report states the defaults it used (see :func:`defaults_summary`).

Class speeds (km/h) are those of OSRM's car profile (``car.lua``, OSRM v26.10) so that routes
and times agree with the router analysts compare against (``benchmarks/bench_fidelity.py``);
lanes per direction and capacity per lane (vehicles/hour) follow the MATSim OSM LinkProperties
defaults. Both apply only where OSM has no ``maxspeed`` / ``lanes`` tag on the way; a tagged
``maxspeed`` is driven as tagged. Each traffic signal passed adds the profile's signal delay
(2 s, OSRM's), on top of the edges' travel times.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import InputError


@dataclass(frozen=True)
class RoadClass:
    """Defaults for one OSM ``highway=*`` value."""

    speed_kph: float  # free-flow speed when the way has no maxspeed tag
    lanes_per_direction: int  # when the way has no lanes tag
    capacity_per_lane_vph: float  # vehicles/hour/lane


ROAD_CLASSES: dict[str, RoadClass] = {
    "motorway": RoadClass(90, 2, 2000),
    "motorway_link": RoadClass(45, 1, 1500),
    "trunk": RoadClass(85, 1, 2000),
    "trunk_link": RoadClass(40, 1, 1500),
    "primary": RoadClass(65, 1, 1500),
    "primary_link": RoadClass(30, 1, 1500),
    "secondary": RoadClass(55, 1, 800),
    "secondary_link": RoadClass(25, 1, 800),
    "tertiary": RoadClass(40, 1, 600),
    "tertiary_link": RoadClass(20, 1, 600),
    "unclassified": RoadClass(25, 1, 600),
    "residential": RoadClass(25, 1, 600),
    "road": RoadClass(25, 1, 600),
    "living_street": RoadClass(10, 1, 300),
    "service": RoadClass(15, 1, 300),
}
FALLBACK_CLASS = RoadClass(25, 1, 600)  # any highway value not listed above

MAJOR_CLASSES: frozenset[str] = frozenset(
    {"motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
     "secondary", "secondary_link", "tertiary", "tertiary_link"}
)
DRIVE_CLASSES: frozenset[str] = MAJOR_CLASSES | {"unclassified", "residential", "road", "living_street"}
# Named sets accepted wherever road classes are asked for ("drive", "major").
CLASS_SETS: dict[str, frozenset[str]] = {"drive": DRIVE_CLASSES, "major": MAJOR_CLASSES,
                                          "drive_service": DRIVE_CLASSES | {"service"}}

# Way tags that change how a road can be driven: speed, lanes (capacity), access, vehicle limits.
ROUTING_TAGS: tuple[str, ...] = (
    "highway", "maxspeed", "maxspeed:hgv", "lanes", "lanes:forward", "lanes:backward",
    "access", "vehicle", "motor_vehicle", "motorcar", "hgv",
    "maxweight", "maxweight:hgv", "maxheight", "maxwidth", "maxlength",
)
# Way tags kept on edges (osmnx's defaults, what selectors need, and the routing tags).
EDGE_TAGS: tuple[str, ...] = tuple(dict.fromkeys((
    "highway", "name", "name:en", "name:ar", "ref", "int_ref", "old_ref", "oneway", "bridge", "tunnel",
    "layer", "junction", "service", "width", *ROUTING_TAGS,
)))
# Node tags kept on nodes; barrier keeps border_control checkpoints selectable; the direction tags say
# which way a traffic signal (highway=traffic_signals) faces.
NODE_TAGS: tuple[str, ...] = ("highway", "barrier", "name", "name:en", "ref", "junction", "railway",
                              "traffic_signals:direction", "direction")
KEPT_BARRIERS: frozenset[str] = frozenset({"border_control", "toll_booth"})  # other barrier values are dropped
# Edge attributes whose change keeps a node as an endpoint during simplification: a bridge or tunnel
# stays its own edge (osmnx issue #1151), and a merged edge never mixes speeds, lanes, access or
# vehicle limits, so its travel time, capacity and access are exactly those of its segments.
SIMPLIFY_EDGE_ATTRS_DIFFER: tuple[str, ...] = ("bridge", "tunnel", "layer", *ROUTING_TAGS)
# Node attributes that keep a node during simplification.
SIMPLIFY_NODE_ATTRS_INCLUDE: tuple[str, ...] = ("barrier",)


@dataclass(frozen=True)
class VehicleProfile:
    """How one kind of vehicle may use the roads (see ``PROFILES``).

    ``access_keys`` are read most general first; the most specific one present on a way decides
    (OSM access hierarchy). ``restriction_key``/``except_value``: the vehicle-specific form of a
    turn restriction and the ``except=`` value that exempts this vehicle. Dimensions are the
    default vehicle's (tonnes, metres), compared with ``maxweight``/``maxheight``/``maxwidth``/
    ``maxlength``; ``max_speed_kph`` caps every road's speed (None: no cap). ``signal_delay_s``:
    seconds added to a route each time it passes a node tagged ``highway=traffic_signals`` (in the
    direction ``traffic_signals:direction`` names, if any), as OSRM's car profile adds.
    """

    name: str
    access_keys: tuple[str, ...]
    restriction_key: str
    except_value: str
    maxspeed_key: str | None  # a vehicle-specific maxspeed tag preferred over maxspeed
    max_speed_kph: float | None
    weight_t: float
    height_m: float
    width_m: float
    length_m: float
    signal_delay_s: float


PROFILES: dict[str, VehicleProfile] = {
    "car": VehicleProfile("car", ("access", "vehicle", "motor_vehicle", "motorcar"), "restriction:motorcar",
                          "motorcar", None, None, weight_t=1.5, height_m=1.6, width_m=1.9, length_m=4.8,
                          signal_delay_s=2.0),
    # an aid-convoy truck: 40 t articulated lorry, 4 m high, 2.55 m wide (EU maxima), speed limiter 80 km/h
    "truck": VehicleProfile("truck", ("access", "vehicle", "motor_vehicle", "hgv"), "restriction:hgv", "hgv",
                            "maxspeed:hgv", 80.0, weight_t=40.0, height_m=4.0, width_m=2.55, length_m=16.5,
                            signal_delay_s=2.0),
}
DEFAULT_PROFILE = "car"
BLOCKED_ACCESS: frozenset[str] = frozenset({"no", "private"})  # the vehicle may not use the road
# usable only to reach or leave a place on the road, never as a through road (as OSRM does)
DESTINATION_ACCESS: frozenset[str] = frozenset({"destination", "delivery", "customers"})

# Data notices: every output made from a network carries one of these.
OSM_COPYRIGHT = "© OpenStreetMap contributors, ODbL 1.0"
SCHEMATIC_MARKER = "SCHEMATIC"  # an OSM XML file whose <note> starts with this is not OpenStreetMap data
SCHEMATIC_BANNER = ("SCHEMATIC NETWORK — for demos and tests, NOT OpenStreetMap data: "
                    "distances and times are illustrative only.")

# Evacuation defaults (a scenario's [evacuation] table overrides each).
PERSONS_PER_VEHICLE = 3.0
POPULATIONS: tuple[int, ...] = (280_000, 1_500_000)  # persons: displaced in a week, and the upper estimate
ORIGIN_RADIUS_M = 5_000.0  # road nodes this close to the origin place form the origin area
DESTINATION_RADIUS_M = 3_000.0  # area of a town destination (border crossings: their node only)
MIN_AREA_GAP_M = 2_000.0  # origin and destination areas closer than this (metres) draw a warning; overlapping: an error
ALTERNATIVES = 3  # distinct evacuation routes per destination
ALTERNATIVE_PENALTY = 1.6  # weight multiplier on edges of routes already found (penalty method)
MAX_SHARED_LENGTH = 0.8  # an alternative sharing more than this share of its length is not distinct

SNAP_WARNING_M = 2_000.0  # a place further than this from its nearest graph node is flagged
MAX_SNAP_M = 5_000.0  # a place further than this from the network is an error ([places] max_snap_m overrides)

# Accessibility: population access to facilities (a scenario's [access] table overrides each).
ACCESS_THRESHOLDS_MIN: tuple[float, ...] = (15, 30, 60, 120)  # travel-time thresholds reported (minutes)
ACCESS_MAX_SNAP_M = 2_000.0  # population and facilities farther than this from a road node stay unsnapped (counted)
ACCESS_COMPONENT_MIN_SHARE = 0.01  # snap to strongly connected components with at least this share of the nodes
ACCESS_CRITICALITY_THRESHOLD_MIN = 60.0  # population-weighted criticality: "loses access within" (minutes)
# OSM place=* values whose population=* counts; suburbs, quarters and neighbourhoods are left out because
# their population is usually part of their city's (double counting), and so are countries and regions.
OSM_PLACE_TYPES: tuple[str, ...] = ("city", "town", "village", "hamlet", "isolated_dwelling")

# Serial or Dask, when `routing sweep` gets no --serial/--workers/--scheduler: a map runs its tasks in this
# process for DASK_SAMPLE_S seconds (wall clock); if the remaining tasks, at the pace of the sampled ones,
# would take more than DASK_MIN_SERIAL_S seconds serially, a local Dask cluster (one worker per core) runs
# them (`routing criticality` stays serial: its searches already use every core). benchmarks/bench_executor.py
# measures serial against Dask (start-up included) on the same work and fits where Dask starts to pay
# (benchmarks/RESULTS-executor.md, README "Serial or Dask"); the threshold sits above that break-even.
DASK_SAMPLE_S = 1.0  # seconds
DASK_MIN_SERIAL_S = 20.0  # seconds of serial task work above which Dask pays

OVERPASS_URL = "https://overpass-api.de/api/interpreter"  # $ROUTING_OVERPASS_URL overrides it
NETWORK_TIMEOUT_S = 30.0  # seconds to reach Overpass or Geofabrik, all attempts together ($ROUTING_NETWORK_TIMEOUT)
READ_TIMEOUT_S = 180.0  # seconds a server that answered may stay silent mid-answer (Overpass queries run 180 s)


def data_path(*parts: str) -> Path:
    """A file shipped inside the package (``routing/data/...``): catalogue, demo network, scenarios."""
    return Path(str(resources.files("routing").joinpath("data", *parts)))


def shared_data_dir() -> Path:
    """Shared real data: ``$ROUTING_SHARED_DATA``; default ``../shared/data`` beside a source
    checkout (the folder holding ``pyproject.toml``), else relative to the working folder."""
    env = os.environ.get("ROUTING_SHARED_DATA")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent
    base = checkout.parent if (checkout / "pyproject.toml").exists() else Path("..")
    return base / "shared" / "data"


def expand_path(text: str, base: Path | None) -> str:
    """Expand ``$ROUTING_SHARED_DATA`` (default ``../shared/data``) and ``~``; relative paths are
    relative to the folder of the file ``base`` (a scenario file) when given."""
    env = dict(os.environ)
    env.setdefault("ROUTING_SHARED_DATA", str(shared_data_dir()))
    for key in ("ROUTING_SHARED_DATA",):
        text = text.replace("${" + key + "}", env[key]).replace("$" + key, env[key])
    p = Path(os.path.expanduser(text))
    if not p.is_absolute() and base is not None:
        p = (base.parent / p).resolve()
    return str(p)


def overpass_url() -> str:
    """The Overpass interpreter URL: ``$ROUTING_OVERPASS_URL``, default ``OVERPASS_URL``."""
    return os.environ.get("ROUTING_OVERPASS_URL") or OVERPASS_URL


def network_timeout_s() -> float:
    """Seconds allowed to reach Overpass or Geofabrik (all attempts): ``$ROUTING_NETWORK_TIMEOUT``,
    default ``NETWORK_TIMEOUT_S``."""
    env = os.environ.get("ROUTING_NETWORK_TIMEOUT")
    if not env:
        return NETWORK_TIMEOUT_S
    try:
        seconds = float(env)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and 0 < seconds <= 3600):
        raise InputError("expected seconds in (0, 3600]", field="environment variable ROUTING_NETWORK_TIMEOUT",
                         value=env)
    return seconds


def cache_dir() -> Path:
    """Cache for built graphs and downloads: ``$ROUTING_CACHE_DIR``, default ``~/.cache/corridor-routing``."""
    env = os.environ.get("ROUTING_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "corridor-routing"


def defaults_summary() -> dict[str, Any]:
    """The defaults a report must state, as plain data."""
    return {
        "profiles": {name: {"max_speed_kph": p.max_speed_kph, "weight_t": p.weight_t, "height_m": p.height_m,
                            "width_m": p.width_m, "length_m": p.length_m, "access_keys": list(p.access_keys),
                            "signal_delay_s": p.signal_delay_s}
                     for name, p in PROFILES.items()},
        "road_classes": {k: {"speed_kph": v.speed_kph, "lanes_per_direction": v.lanes_per_direction,
                             "capacity_per_lane_vph": v.capacity_per_lane_vph}
                         for k, v in ROAD_CLASSES.items()},
        "fallback_class": {"speed_kph": FALLBACK_CLASS.speed_kph,
                           "lanes_per_direction": FALLBACK_CLASS.lanes_per_direction,
                           "capacity_per_lane_vph": FALLBACK_CLASS.capacity_per_lane_vph},
        "persons_per_vehicle": PERSONS_PER_VEHICLE,
        "source": ("speeds: OSRM car profile (car.lua) class speeds; lanes and capacities: MATSim OSM "
                   "LinkProperties defaults; used only where OSM lacks maxspeed/lanes; signal delay: OSRM car "
                   "profile's traffic-signal penalty"),
    }
