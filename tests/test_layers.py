"""The analyst's layers: rasters the tests write themselves (rasterio), vector files and CSV,
OSM places and POIs, areas with an attribute filter; every bad input is one line naming the
file, the field and the value, and exit code 2 from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
import responses
from rasterio.transform import from_origin

from routing.analysis.access import accessibility, snap_layer
from routing.cli import main
from routing.engine import Network
from routing.errors import InputError, LayerError, ScenarioError
from routing.layers import (
    overpass_places,
    overpass_pois,
    parse_population,
    read_areas,
    read_facilities,
    read_population,
    read_population_features,
    read_population_raster,
)
from routing.scenario import Scenario, apply_events
from routing.settings import data_path

DEMO_SCENARIO = data_path("scenarios", "access-western-syria.toml")


def write_raster(path: Path, data: np.ndarray, *, west: float, north: float, cell: float, crs: str | None,
                 nodata: float | None = -99999.0) -> Path:
    profile = {"driver": "GTiff", "height": data.shape[0], "width": data.shape[1], "count": 1, "dtype": "float32",
               "transform": from_origin(west, north, cell, cell), "nodata": nodata}
    if crs is not None:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype("float32"), 1)
    return path


def test_raster_cells_sum_and_nodata_is_skipped(tmp_path):
    data = np.arange(12, dtype=float).reshape(3, 4) * 10  # 0 .. 110 persons per cell
    data[0, 0] = -99999.0  # nodata
    path = write_raster(tmp_path / "pop.tif", data, west=36.0, north=35.0, cell=0.01, crs="EPSG:4326")
    layer = read_population_raster(path)
    assert layer.total == data[data > 0].sum() and len(layer) == int((data > 0).sum())
    # cell (row 0, col 1) has its centre at west + 1.5 cells, north - 0.5 cells
    i = int(np.flatnonzero(layer.value == 10)[0])
    assert (layer.lon[i], layer.lat[i]) == pytest.approx((36.015, 34.995))


def test_raster_in_a_projected_crs_is_reprojected(tmp_path):
    # UTM zone 37N: 1 km cells; the tests compare with rasterio's own transform of the centres
    data = np.full((2, 3), 250.0)
    path = write_raster(tmp_path / "utm.tif", data, west=300_000, north=3_850_000, cell=1000, crs="EPSG:32637")
    layer = read_population_raster(path)
    xs, ys = np.meshgrid(300_500 + 1000 * np.arange(3), 3_849_500 - 1000 * np.arange(2))
    lon, lat = rasterio.warp.transform("EPSG:32637", "EPSG:4326", xs.ravel(), ys.ravel())
    assert layer.total == 1500
    np.testing.assert_allclose(np.sort(layer.lon), np.sort(lon), atol=1e-9)
    np.testing.assert_allclose(np.sort(layer.lat), np.sort(lat), atol=1e-9)
    assert 36.7 < layer.lon.min() < 36.9  # zone 37N: x = 300 km lies 200 km west of its 39°E meridian


def test_raster_window_reads_only_the_network_area(tmp_path):
    data = np.ones((100, 100))
    path = write_raster(tmp_path / "big.tif", data, west=30.0, north=40.0, cell=0.1, crs="EPSG:4326")
    assert read_population_raster(path).total == 10_000
    part = read_population_raster(path, bbox=(31.0, 35.0, 32.0, 36.0))
    assert 100 <= part.total <= 144 and ((part.lon > 30.9) & (part.lon < 32.1)).all()


def test_raster_population_on_the_demo_network_is_aggregated_to_nodes(tmp_path, demo_graph):
    data = np.full((40, 60), 100.0)  # 240,000 persons over the Homs-Hama area, 0.02° cells
    path = write_raster(tmp_path / "pop.tif", data, west=36.2, north=35.4, cell=0.02, crs="EPSG:4326")
    net = Network(demo_graph)
    layer = read_population(path)
    snapped = snap_layer(net, layer, max_snap_m=5_000)
    s = snapped.summary()
    assert s["snapped"] + s["unsnapped"] == pytest.approx(240_000)
    assert 0 < s["snapped"] < 240_000  # the schematic network is sparse: most cells are far from a road
    assert snapped.node_values().sum() == pytest.approx(s["snapped"])


def test_raster_without_crs_is_one_line_error(tmp_path):
    path = write_raster(tmp_path / "nocrs.tif", np.ones((2, 2)), west=36, north=35, cell=0.1, crs=None)
    with pytest.raises(LayerError) as err:
        read_population_raster(path)
    assert str(err.value) == f"{path}: crs = None: the raster has no coordinate reference system (georeference it, " \
                             "e.g. EPSG:4326)"


def test_raster_negative_population_is_an_error(tmp_path):
    data = np.ones((2, 2))
    data[1, 0] = -3
    path = write_raster(tmp_path / "neg.tif", data, west=36, north=35, cell=0.1, crs="EPSG:4326", nodata=None)
    with pytest.raises(LayerError, match=r"band 1 cell \(row 1, col 0\) = -3.0: negative population"):
        read_population_raster(path)


def write_geojson(path: Path, features: list[dict]) -> Path:
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path


def point(lon: float, lat: float, **props) -> dict:
    return {"type": "Feature", "properties": props, "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def square(w: float, s: float, e: float, n: float, **props) -> dict:
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Polygon", "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}}


def test_points_and_polygons_with_a_population_column(tmp_path):
    path = write_geojson(tmp_path / "pop.geojson", [point(36.7, 34.7, pop=1000, name="a"),
                                                    square(36.0, 35.0, 36.2, 35.2, pop=500, name="b")])
    layer = read_population_features(path, column="pop")
    assert layer.total == 1500 and layer.names == ["a", "b"]
    assert 36.0 < layer.lon[1] < 36.2 and 35.0 < layer.lat[1] < 35.2  # a point inside the polygon
    csv = tmp_path / "pop.csv"
    csv.write_text("name,lat,lon,population\nHoms,34.73,36.71,500\nHama,35.13,36.76,400\n", encoding="utf-8")
    assert read_population(csv).total == 900


@pytest.mark.parametrize(("rows", "message"), [
    ("name,lat,lon,people\nHoms,34.73,36.71,5\n", "pop.csv: column = 'population': no such population column; "
                                                    "columns: name, lat, lon, people"),
    ("name,lat,lon,population\nHoms,34.73,36.71,5\nHama,35.13,36.76,-4\n",
     "pop.csv: population[1] = -4: negative population"),
    ("name,lat,lon,population\nHoms,34.73,36.71,many\n", "pop.csv: population[0] = 'many': population is not a number"),
    ("name,lat,lon,population\nHoms,134.73,36.71,5\n", "pop.csv: lat[0] = 134.73: not a coordinate in degrees"),
])
def test_bad_population_file_is_one_line(tmp_path, rows, message):
    path = tmp_path / "pop.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(LayerError) as err:
        read_population(path)
    assert str(err.value).startswith(str(tmp_path / message))
    assert "\n" not in str(err.value)


def test_areas_with_an_attribute_filter(tmp_path):
    path = write_geojson(tmp_path / "control.geojson", [square(36.0, 34.0, 37.0, 35.0, controlled_by="X"),
                                                        square(37.0, 34.0, 38.0, 35.0, controlled_by="Y"),
                                                        square(35.0, 34.0, 36.0, 35.0, controlled_by="X")])
    assert len(read_areas(path, where={"controlled_by": "X"})) == 2
    assert len(read_areas(path, where={"controlled_by": ["X", "Y"]})) == 3
    with pytest.raises(LayerError) as err:
        read_areas(path, where={"held_by": "X"})
    assert str(err.value) == f"{path}: area.where.held_by = 'X': the layer has no attribute 'held_by'; " \
                             "attributes: controlled_by"
    with pytest.raises(LayerError, match=r"area.where.controlled_by = 'Z': matches no feature; values of "
                                         r"'controlled_by' in the layer: X, Y"):
        read_areas(path, where={"controlled_by": "Z"})
    lines = write_geojson(tmp_path / "lines.geojson", [{"type": "Feature", "properties": {},
                                                        "geometry": {"type": "LineString",
                                                                     "coordinates": [[36, 34], [37, 35]]}}])
    with pytest.raises(LayerError, match=r"area.geometry\[0\] = 'LineString': an area must be a polygon"):
        read_areas(lines)


def test_facilities_that_match_nothing_are_an_error(tmp_path):
    malta = Path(data_path("demo", "western-syria-schematic.osm"))
    with pytest.raises(LayerError, match=r"osm = \{'amenity': 'hospital'\}: no OSM node or way carries these tags"):
        read_facilities(malta, osm_tags={"amenity": "hospital"})
    path = write_geojson(tmp_path / "hubs.geojson", [point(36.7, 34.7, kind="food"), point(36.8, 34.8, kind="water")])
    assert len(read_facilities(path, where={"kind": "food"})) == 1
    with pytest.raises(LayerError, match=r"where.kind = 'fuel': matches no feature"):
        read_facilities(path, where={"kind": "fuel"})


def test_osm_population_values():
    assert [parse_population(t) for t in ("15404", "15,404", "15 404", "2500.5", "ca. 300", "", None)] == \
        [15404, 15404, 15404, 2500.5, None, None, None]


@responses.activate
def test_overpass_places_skip_population_that_is_not_a_number(monkeypatch):
    monkeypatch.setenv("ROUTING_OVERPASS_URL", "https://overpass.test/api/interpreter")
    responses.post("https://overpass.test/api/interpreter", json={"elements": [
        {"type": "node", "id": 1, "lat": 35.9, "lon": 14.5, "tags": {"place": "town", "population": "12,523",
                                                                     "name": "San Gwann"}},
        {"type": "node", "id": 2, "lat": 35.8, "lon": 14.4, "tags": {"place": "village", "population": "many"}}]})
    layer = overpass_places((14.1, 35.7, 14.6, 36.1))
    assert layer.names == ["San Gwann"] and layer.total == 12_523
    assert layer.skipped == {"population tag not a number": 1}
    assert "place%22~%22%5E%28city%7Chamlet%7Cisolated_dwelling%7Ctown%7Cvillage%29%24" in \
        responses.calls[0].request.body


@responses.activate
def test_overpass_pois_query_and_answer(monkeypatch):
    responses.post("https://overpass.test/api/interpreter", json={"elements": [
        {"type": "node", "id": 1, "lat": 35.9, "lon": 14.5, "tags": {"amenity": "hospital", "name": "A"}},
        {"type": "way", "id": 2, "center": {"lat": 35.8, "lon": 14.4}, "tags": {"amenity": "clinic"}}]})
    monkeypatch.setenv("ROUTING_OVERPASS_URL", "https://overpass.test/api/interpreter")
    layer = overpass_pois((14.1, 35.7, 14.6, 36.1), {"amenity": ["hospital", "clinic"]})
    assert layer.names == ["A", "amenity=clinic 1"] and layer.lon.tolist() == [14.5, 14.4]
    query = responses.calls[0].request.body
    assert "node%5B%22amenity%22~%22%5E%28hospital%7Cclinic%29%24%22%5D" in query and "out+center" in query


def test_deny_area_from_a_control_map_file_closes_the_zone(demo_graph):
    scenario = Scenario.from_file(DEMO_SCENARIO)
    damage, outcomes = apply_events(demo_graph, scenario)
    zone = outcomes[-1]
    assert zone.event.action == "deny_area" and zone.nodes >= 1  # Palmyra lies in the zone held by X
    palmyra = min(demo_graph.nodes, key=lambda n: abs(demo_graph.nodes[n]["x"] - 38.2673)
                  + abs(demo_graph.nodes[n]["y"] - 34.5601))
    assert palmyra in damage.removed_nodes


def _scenario(tmp_path: Path, access: str, events: str = "") -> Path:
    network = data_path("demo", "western-syria-schematic.osm")
    path = tmp_path / "s.toml"
    path.write_text(f'[scenario]\nname = "t"\n[network]\nsource = "{network}"\n{access}\n{events}', encoding="utf-8")
    return path


CSV = "name,lat,lon,population\nHoms,34.73,36.71,500\nHama,35.13,36.76,400\n"


def test_scenario_access_table_runs_and_checks_names(tmp_path):
    (tmp_path / "pop.csv").write_text(CSV, encoding="utf-8")
    path = _scenario(tmp_path, '[access]\nthresholds_min = [30, 90]\n[access.population]\nsource = "pop.csv"\n'
                               '[access.facilities.hospital]\nplaces = ["Homs"]')
    scenario = Scenario.from_file(path)
    assert scenario.access is not None and scenario.access.population.source == str(tmp_path / "pop.csv")
    bad = _scenario(tmp_path, '[access]\n[access.population]\nsource = "pop.csv"\n'
                              '[access.facilities.hospital]\nplaces = ["Homz"]')
    with pytest.raises(InputError, match=r"access.facilities.hospital.places\[0\] = 'Homz': unknown place"):
        Scenario.from_file(bad)
    bad = _scenario(tmp_path, '[access]\n[access.population]\nsource = "osm"\n'
                              '[access.facilities.x]\nkind = "hospital_ship"')
    with pytest.raises(ScenarioError, match=r"access.facilities.x.kind = 'hospital_ship': no catalogue place of "
                                            r"this kind"):
        Scenario.from_file(bad)


@pytest.mark.parametrize(("setup", "message"), [
    ("nocrs", "nocrs.tif: crs = None: the raster has no coordinate reference system"),
    ("column", "pop.csv: column = 'persons': no such population column"),
    ("negative", "neg.csv: population[1] = -400: negative population"),
    ("facilities", "western-syria-schematic.osm: osm = {'amenity': 'hospital'}: no OSM node or way carries"),
    ("area", "zones.geojson: events[0].area.where.side = 'X': the layer has no attribute 'side'"),
])
def test_cli_bad_input_exit_2_one_line(tmp_path, capsys, setup, message):
    (tmp_path / "pop.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "neg.csv").write_text(CSV.replace("400", "-400"), encoding="utf-8")
    write_raster(tmp_path / "nocrs.tif", np.ones((2, 2)), west=36, north=35, cell=0.1, crs=None)
    write_geojson(tmp_path / "zones.geojson", [square(38, 34, 39, 35, controlled_by="X")])
    facility = '[access.facilities.hospital]\nplaces = ["Homs"]'
    population = {"nocrs": 'source = "nocrs.tif"', "column": 'source = "pop.csv"\ncolumn = "persons"',
                  "negative": 'source = "neg.csv"'}.get(setup, 'source = "pop.csv"')
    if setup == "facilities":
        facility = '[access.facilities.hospital]\nosm = { amenity = "hospital" }'
    events = ('[[events]]\naction = "deny_area"\narea = { file = "zones.geojson", where = { side = "X" } }'
              if setup == "area" else "")
    path = _scenario(tmp_path, f"[access]\n[access.population]\n{population}\n{facility}", events)
    code = main(["-q", "run", str(path), "--out", str(tmp_path / "out"), "--no-maps"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_access_on_the_demo_run_matches_its_layers(demo_graph):
    scenario = Scenario.from_file(DEMO_SCENARIO)
    from routing.run import run_scenario

    result = run_scenario(scenario, graph=demo_graph)
    acc = result.access
    assert acc is not None and set(acc.types) == {"hospital", "border_crossing"}
    assert acc.population.layer.notice.startswith("SCHEMATIC")
    rows = acc.summary.set_index(["facility", "state"])
    assert rows.loc[("hospital", "baseline"), "population"] == 4_590_000  # the schematic CSV's sum
    # the crossings into Lebanon are closed: fewer people within 30 minutes of a crossing
    assert rows.loc[("border_crossing", "damaged"), "within_30_min"] < rows.loc[("border_crossing", "baseline"),
                                                                                "within_30_min"]
    fresh = accessibility(Network(demo_graph), acc.population, {"hospital": acc.types["hospital"].facilities},
                          damage=result.damage, thresholds_min=acc.thresholds_min)
    np.testing.assert_array_equal(fresh.types["hospital"].time_s["damaged"], acc.types["hospital"].time_s["damaged"])
    assert acc.areas is not None and "East (Palmyra)" in set(acc.areas["area"])
