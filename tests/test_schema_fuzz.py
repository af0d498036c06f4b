"""Property: any TOML tree given to the scenario or sweep parser gives a validated object or our
one-line error (exit 2 on the command line), never another exception."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

from conftest import DEMO_OSM, DEMO_SCENARIO, DEMO_SCENARIO_HEAD
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing.errors import InputError
from routing.scenario import Scenario
from routing.scenario.selector_schema import SELECTOR_KEYS
from routing.sweep import Sweep

VALID_SCENARIO = tomllib.loads(DEMO_SCENARIO_HEAD + """[[events]]
action = "degrade"
select = { ref = "M1" }
speed_factor = 0.5
""")
VALID_SWEEP = tomllib.loads(f"""
[sweep]
base = "{DEMO_SCENARIO}"
draws = 5
seed = 1
[[sweep.assets]]
asset = "rastan_bridge"
failure_probability = 0.5
""")

FIELD_NAMES = sorted({
    "scenario", "network", "places", "evacuation", "capacity", "events", "sweep", "name", "description", "as_of",
    "catalogue", "source", "road_classes", "bbox", "profile", "vehicle", "weight_t", "height_m", "width_m",
    "length_m", "od", "custom", "max_snap_m", "lat", "lon", "kind", "safe", "approximate", "origin",
    "origin_radius_m", "destination_radius_m", "origin_area", "destinations", "alternatives", "populations",
    "persons_per_vehicle", "horizon_hours", "per_lane_vph", "action", "date", "note", "label", "asset", "select",
    "area", "speed_factor", "capacity_factor", "max_weight_t", "max_height_m", "vehicles", "radius_m", "place",
    "base", "mode", "draws", "seed", "max_failed", "base_events", "assets", "failure_probability", "motorway",
    *SELECTOR_KEYS})
WORDS = ["Hama", "Homs", "Tartus", "rastan_bridge", "destroy", "close", "degrade", "deny_area", "restrict", "car",
         "truck", "drive", "major", "overpass", "monte_carlo", "combinations", "M1", str(DEMO_OSM), "", " "]

keys = st.sampled_from(FIELD_NAMES) | st.text(max_size=6)
scalars = (st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
           | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(WORDS) | st.text(max_size=8)
           | st.dates() | st.datetimes() | st.times())
trees = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5),
                     max_leaves=25)
patches = st.dictionaries(keys, trees, max_size=4)
paths = st.lists(st.sampled_from(FIELD_NAMES) | st.integers(min_value=0, max_value=1), max_size=3)


def overlay(base: dict, patch: dict, path: list) -> dict:
    """``base`` with ``patch`` merged in at ``path`` (as far as the path exists): most mutations
    then sit inside an otherwise valid file, where the deep checks run."""
    doc = copy.deepcopy(base)
    target = doc
    for step in path:
        child = (target.get(step) if isinstance(target, dict) and isinstance(step, str)
                 else target[step] if isinstance(target, list) and isinstance(step, int) and step < len(target)
                 else None)
        if not isinstance(child, (dict, list)):
            break
        target = child
    if isinstance(target, dict):
        target.update(patch)
    elif isinstance(target, list):
        target.append(patch)
    return doc


def parses_or_refuses(parse, doc) -> None:
    try:
        parse(doc, path=Path("fuzz.toml"))
    except InputError as exc:  # our error: one line naming the file (this one, or a file it names)
        assert exc.file and "\n" not in str(exc), str(exc)


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(patch=patches, path=paths)
def test_scenario_parser_gives_a_scenario_or_our_error(patch, path):
    parses_or_refuses(Scenario.from_dict, overlay(VALID_SCENARIO, patch, path))


@FUZZ
@given(doc=st.dictionaries(keys, trees, max_size=5))
def test_scenario_parser_on_arbitrary_trees(doc):
    parses_or_refuses(Scenario.from_dict, doc)


@FUZZ
@given(patch=patches, path=paths)
def test_sweep_parser_gives_a_sweep_or_our_error(patch, path):
    parses_or_refuses(Sweep.from_dict, overlay(VALID_SWEEP, patch, path))
