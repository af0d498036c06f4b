"""A scenario's ``[access]`` table -> the analyst's layers, read: population points, facility
points per type, admin areas (see :mod:`routing.layers`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from ..errors import LayerError
from ..layers import PointLayer, overpass_places, overpass_pois, read_areas, read_facilities, read_population
from .catalogue import Catalogue, Place
from .schema import FacilityTable, Scenario

BBox = tuple[float, float, float, float]  # west, south, east, north (degrees)


@dataclass
class AccessLayers:
    """The layers of an ``[access]`` table: persons at points, facilities by type, areas (or None)."""

    population: PointLayer
    facilities: dict[str, PointLayer]
    areas: gpd.GeoDataFrame | None = None


def _from_places(places: list[Place], source: str) -> PointLayer:
    return PointLayer(np.array([p.lon for p in places]), np.array([p.lat for p in places]), np.ones(len(places)),
                      source=source,
                      names=[p.name for p in places])


def _facilities(scenario: Scenario, name: str, fac: FacilityTable, catalogue: Catalogue) -> PointLayer:
    where = f"access.facilities.{name}"
    if fac.places is not None:
        return _from_places([catalogue.place(p, file=scenario.path, field=f"{where}.places") for p in fac.places],
                            f"catalogue {catalogue.source}")
    if fac.kind is not None:
        return _from_places([p for p in catalogue.places.values() if p.kind == fac.kind],
                            f"catalogue {catalogue.source} (kind {fac.kind})")
    tags = fac.osm
    if fac.file is not None:
        return read_facilities(fac.file, osm_tags=tags, where=fac.where, layer=fac.layer, name_column=fac.name)
    assert tags is not None  # the schema asks for one source
    net = scenario.network
    if net.source == "overpass":
        assert net.bbox is not None
        out = overpass_pois(net.bbox, tags)
        if len(out) == 0:
            raise LayerError("no OSM node or way in the network's bbox carries these tags", file="overpass",
                             field=f"{where}.osm", value=dict(tags))
        return out
    return read_facilities(net.source, osm_tags=tags)


def load_access_layers(scenario: Scenario, catalogue: Catalogue | None = None, *,
                       bbox: BBox | None = None) -> AccessLayers:
    """Read the layers a scenario's ``[access]`` table names (``bbox``: the network's extent in
    degrees, so only that window of a population raster is read)."""
    access = scenario.access
    if access is None:
        raise ValueError(f"scenario {scenario.name!r} has no [access] table")
    catalogue = catalogue or scenario.catalogue()
    pop = access.population
    net = scenario.network
    if pop.source == "osm":
        if net.source == "overpass":
            assert net.bbox is not None
            population = overpass_places(net.bbox, place_types=pop.place_types)
        else:
            population = read_population(net.source, place_types=pop.place_types)
        if pop.notice:
            population.notice = pop.notice
    else:
        population = read_population(Path(pop.source), column=pop.column, layer=pop.layer, where=pop.where,
                                     name_column=pop.name, place_types=pop.place_types, bbox=bbox,
                                     notice=pop.notice)
    if len(population) == 0 or population.total <= 0:
        raise LayerError("the population layer holds nobody (no positive value)", file=population.source,
                         field="access.population.source", value=pop.source)
    facilities = {name: _facilities(scenario, name, fac, catalogue) for name, fac in access.facilities.items()}
    areas = None
    if access.areas is not None:
        a = access.areas
        areas = read_areas(a.file, where=a.where, layer=a.layer, name_column=a.name, field="access.areas")
    return AccessLayers(population, facilities, areas)
