"""The strict schema: the fields other issues use (profiles, restrict events, labels, snap limits),
datetimes as dates, and the one-line messages of the translated pydantic errors."""

from __future__ import annotations

import datetime as dt
import tomllib

import pytest
from conftest import DEMO_OSM

from routing.errors import CatalogueError, InputError, ScenarioError
from routing.scenario import Scenario, load_catalogue

BASE = f"""
[scenario]
name = "t"
[network]
source = "{DEMO_OSM}"
[places]
od = ["Hama", "Homs"]
"""


def parse(text: str) -> Scenario:
    return Scenario.from_dict(tomllib.loads(text), path="s.toml")


def test_truck_profile_restrict_event_label_and_snap_limits():
    sc = parse(BASE.replace("[network]", '[network]\nprofile = "truck"\nvehicle = { weight_t = 40, height_m = 4.2 }')
               .replace("[places]", "[places]\nmax_snap_m = 1500\ncustom = { Depot = { lat = 34.7, lon = 36.7, "
                                    "max_snap_m = 300 } }") + """
[[events]]
action = "restrict"
asset = "rastan_bridge"
max_weight_t = 12
vehicles = ["car"]
label = "Rastan bridge reopened for light traffic"
date = 2024-12-10T08:00:00
[[events]]
action = "destroy"
select = { ref = "M1" }
note = "strike"
""")
    assert sc.network.profile == "truck" and sc.network.vehicle is not None
    assert (sc.network.vehicle.weight_t, sc.network.vehicle.height_m, sc.network.vehicle.width_m) == (40, 4.2, None)
    restrict, destroy = sc.events
    assert (restrict.action, restrict.max_weight_t, restrict.max_height_m, restrict.vehicles) == \
        ("restrict", 12.0, None, ("car",))
    assert restrict.label == "Rastan bridge reopened for light traffic" and restrict.date == dt.date(2024, 12, 10)
    assert destroy.label == "strike" and destroy.selector == {"ref": "M1"}
    assert sc.max_snap_m == 1500 and sc.extra_places["Depot"].max_snap_m == 300
    assert parse(BASE).network.profile == "car" and parse(BASE).network.vehicle is None


def test_as_of_datetime_counts_as_its_date():
    sc = parse(BASE.replace('name = "t"', 'name = "t"\nas_of = 2024-12-06T23:59:00+03:00'))
    assert sc.as_of == dt.date(2024, 12, 6) and type(sc.as_of) is dt.date


@pytest.mark.parametrize("old, new, message", [
    ("[network]", '[network]\nvehicle = { weight_t = 3 }', 'network.vehicle = {\'weight_t\': 3.0}: vehicle dimensions '
                                                            'need profile = "truck"'),
    ("[network]", '[network]\nprofile = "bike"', "network.profile = 'bike': unknown profile; use one of 'car' or "
                                                  "'truck'"),
    ("[network]", '[network]\nprofile = "truck"\nvehicle = { height_m = nan }',
     "network.vehicle.height_m = nan: expected a finite number"),
    ("[network]", '[network]\nprofile = "truck"\nvehicle = { hieght_m = 4 }',
     "network.vehicle.hieght_m = 4: unknown field; did you mean 'height_m'?"),
    ("[places]", "[places]\nmax_snap_m = -1", "places.max_snap_m = -1: expected a number > 0"),
    ("[places]", "[places]\nmax_snap_m = true", "places.max_snap_m = True: expected a number"),
    ('od = ["Hama", "Homs"]', 'od = ["Hama", "HAMA"]', "places.od[1] = 'HAMA': duplicate place"),
    ('od = ["Hama", "Homs"]', 'od = ["Hama"]', "places.od = ['Hama']: needs at least two places"),
])
def test_new_fields_are_validated(old, new, message):
    with pytest.raises(ScenarioError) as err:
        parse(BASE.replace(old, new, 1))
    assert str(err.value) == f"s.toml: {message}" or message in str(err.value), str(err.value)


@pytest.mark.parametrize("event, message", [
    ('action = "restrict"\nasset = "rastan_bridge"', "events[0]: restrict needs max_weight_t, max_height_m"),
    ('action = "restrict"\nasset = "rastan_bridge"\nvehicles = ["lorry"]',
     "events[0].vehicles[0] = 'lorry': unknown value; use one of 'car' or 'truck'"),
    ('action = "restrict"\nasset = "rastan_bridge"\nvehicles = []', "events[0].vehicles = []: expected at least 1"),
    ('action = "restrict"\nasset = "rastan_bridge"\nmax_weight_t = 0', "events[0].max_weight_t = 0: expected a "
                                                                         "number > 0"),
    ('action = "destroy"\nasset = "rastan_bridge"\nmax_height_m = 3', 'events[0].max_height_m = 3.0: only for '
                                                                       'action = "restrict"'),
    ('action = "restrict"\narea = [[36, 34], [37, 34], [37, 35]]\nmax_weight_t = 3',
     "events[0].area = [[36.0, 34.0], [37.0, 34.0], [37.0, 35.0]]: only for action = \"deny_area\""),
    ('action = "destroy"\nasset = "rastan_bridge"\nlabel = ""', "events[0].label = '': expected a non-empty string"),
    ('action = "destroy"\nselect = { not = { not = { ref = "M1", colour = "red" } } }',
     "events[0].select.not.not.colour = 'red': unknown field"),
])
def test_restrict_and_label_are_validated(event, message):
    with pytest.raises(ScenarioError, match="^s.toml: ") as err:
        parse(BASE + "[[events]]\n" + event)
    assert message in str(err.value), str(err.value)


def test_catalogue_place_snap_limit_and_case_insensitive_names(tmp_path):
    path = tmp_path / "places.toml"
    path.write_text('[places.Depot]\nlat = 34.7\nlon = 36.7\nmax_snap_m = 250\n', encoding="utf-8")
    assert load_catalogue(path).place("depot").max_snap_m == 250
    path.write_text('[places.Depot]\nlat = 34.7\nlon = 36.7\n[places.DEPOT]\nlat = 34.8\nlon = 36.7\n',
                    encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"places.toml: places.DEPOT = 'DEPOT': duplicate place name"):
        load_catalogue(path)
    path.write_text('[assets.x]\nselect = { ref = "M5" }\nlabel = "X"\nnote = "?"\n', encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"assets.x.note = '\?': unknown field; expected one of label, select"):
        load_catalogue(path)
    path.write_text('[places.Depot]\nlat = 34.7\nlon = 36.7\nkind = "depot"\nlabel = "x"\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"places.Depot.label = 'x': unknown field"):
        load_catalogue(path)
