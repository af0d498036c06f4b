"""The selector language's schema (see :mod:`routing.scenario.selectors` for what each key
matches): checked when a scenario, sweep or catalogue file is read, so a malformed selector is
refused before any network is loaded."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, TypeAdapter, model_validator
from shapely.geometry import Polygon

from .validation import BBox, Latitude, Longitude, LonLat, Positive, Strict, Text, problem, shallow

SELECTOR_KEYS = ("way", "node", "tags", "node_tags", "ref", "name", "near", "within", "asset", "all", "any", "not")


def _ids(value: Any) -> Any:
    ids = value if isinstance(value, list) else [value]
    if not ids or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise problem("expected an OSM id or a non-empty list of them (integers)")
    return value


def _tag_value(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    ok = isinstance(value, bool) or (items and all(
        isinstance(v, (str, int)) and not isinstance(v, bool) for v in items))
    if not ok:
        raise problem("expected a tag value (string), a list of them, true (present) or false (absent)")
    return value


def _non_empty(value: dict) -> dict:
    if not value:
        raise problem("expected a non-empty table of tag = value")
    return value


Ids = Annotated[Any, BeforeValidator(_ids)]
TagValue = Annotated[Any, BeforeValidator(_tag_value)]
Tags = Annotated[dict[Text, TagValue], AfterValidator(_non_empty)]


def _valid_polygon(points: list[list[float]]) -> list[list[float]]:
    if len(points) < 3:
        raise problem("expected a polygon [[lon, lat], ...] of at least 3 points")
    polygon = Polygon(points)
    if not polygon.is_valid or polygon.area == 0:
        raise problem("polygon is not valid (self-intersecting or flat)")
    return points


PolygonArea = Annotated[list[LonLat], AfterValidator(_valid_polygon)]


class BBoxArea(Strict):
    """``{bbox = [west, south, east, north]}`` in degrees."""

    bbox: BBox


def _where_value(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in items):
        raise problem("expected an attribute value (string or integer) or a non-empty list of them")
    return value


WhereValue = Annotated[Any, BeforeValidator(_where_value)]


class FileArea(Strict):
    """``{file = "control-2024-12-06.geojson", where = {controlled_by = "X"}}``: the polygons of
    the analyst's vector file (GeoJSON, GeoPackage, Shapefile; ``layer`` of a GeoPackage) whose
    attributes hold every ``where`` condition (a list = any of these values). A relative path is
    relative to the scenario file."""

    file: Text
    where: dict[Text, WhereValue] | None = None
    layer: Text | None = None


class Near(Strict):
    """A circle: ``{place = "...", radius_m}`` or ``{lat, lon, radius_m}`` (degrees, metres)."""

    place: Text | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    radius_m: Positive

    @model_validator(mode="after")
    def _centre(self) -> Near:
        point = (self.lat, self.lon)
        if (self.place is not None and point != (None, None)) or (self.place is None and None in point):
            raise problem("give either place or both lat and lon (degrees)")
        return self


def _area_kind(value: Any) -> str:
    if isinstance(value, list):
        return "@polygon"
    if isinstance(value, dict) and "bbox" in value:
        return "@bbox"
    if isinstance(value, dict) and "file" in value:
        return "@file"
    return "@near" if isinstance(value, dict) and "radius_m" in value else "@other"


_AREA_FORMS = ("a polygon [[lon, lat], ...] (at least 3 points), {bbox = [w, s, e, n]} or "
               "{file = \"zones.geojson\", where = {attribute = \"value\"}}")


def _not_an_area(value: Any) -> Any:
    raise problem(f"expected {_AREA_FORMS}")


def _not_an_area_or_circle(value: Any) -> Any:
    raise problem(f"expected {_AREA_FORMS}, or {{place, radius_m}} / {{lat, lon, radius_m}}")


Area = Annotated[
    Annotated[PolygonArea, Tag("@polygon")] | Annotated[BBoxArea, Tag("@bbox")] | Annotated[FileArea, Tag("@file")]
    | Annotated[Any, BeforeValidator(_not_an_area), Tag("@near")]
    | Annotated[Any, BeforeValidator(_not_an_area), Tag("@other")],
    Discriminator(_area_kind)]
"""A polygon, a bbox or polygons from a file (``within``, ``origin_area``)."""

AreaOrCircle = Annotated[
    Annotated[PolygonArea, Tag("@polygon")] | Annotated[BBoxArea, Tag("@bbox")] | Annotated[FileArea, Tag("@file")]
    | Annotated[Near, Tag("@near")]
    | Annotated[Any, BeforeValidator(_not_an_area_or_circle), Tag("@other")],
    Discriminator(_area_kind)]
"""A polygon, a bbox, polygons from a file or a circle (``deny_area``)."""

AREA = TypeAdapter(Area)


class Selector(Strict):
    """One selector table; several keys must all hold."""

    way: Ids = None
    node: Ids = None
    tags: Tags | None = None
    node_tags: Tags | None = None
    ref: Text | None = None
    name: Text | None = None
    near: Near | None = None
    within: Area | None = None
    asset: Text | None = None
    all_: list[Selector] | None = Field(None, alias="all", min_length=1)
    any_: list[Selector] | None = Field(None, alias="any", min_length=1)
    not_: Selector | None = Field(None, alias="not")

    @model_validator(mode="before")
    @classmethod
    def _table(cls, value: Any) -> Any:
        if isinstance(value, dict) and not value:
            raise problem(f"a selector is a non-empty table with keys from {', '.join(SELECTOR_KEYS)}")
        return shallow(value)

    def as_dict(self) -> dict[str, Any]:
        """The selector as the plain table :func:`routing.scenario.selectors.select` takes."""
        return self.model_dump(by_alias=True, exclude_none=True)
