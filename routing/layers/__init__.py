"""The analyst's own layers: population (raster, points or polygons with a population column, OSM
places), facilities (files, OSM tags, Overpass) and areas (control zones, admin polygons with an
attribute filter). Readers only: each returns WGS84 points or polygons; snapping to the network
and the analyses are in :mod:`routing.analysis.access`."""

from .areas import area_union, read_areas
from .facilities import read_facilities
from .features import filter_features, read_features
from .osm import check_tag_spec, overpass_places, overpass_pois, parse_population, read_osm_places, read_osm_pois
from .points import PointLayer
from .population import read_population, read_population_features, read_population_raster

__all__ = ["PointLayer", "area_union", "check_tag_spec", "filter_features", "overpass_places", "overpass_pois",
           "parse_population", "read_areas", "read_facilities", "read_features", "read_osm_places", "read_osm_pois",
           "read_population", "read_population_features", "read_population_raster"]
