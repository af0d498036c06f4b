"""Places and assets catalogue: the `places.toml` shipped in the package, or your own."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CatalogueError
from ..files import read_toml
from ..settings import data_path

DEFAULT_CATALOGUE = "places.toml"


@dataclass(frozen=True)
class Place:
    """A named point: ``lat``/``lon`` in WGS84 degrees."""

    name: str
    lat: float
    lon: float
    kind: str = "place"
    country: str = ""
    safe: bool = False  # a default evacuation destination
    approximate: bool = False  # coordinates known to about 1 km only


@dataclass(frozen=True)
class Asset:
    """A named piece of infrastructure and the selector that finds it on any network."""

    key: str
    label: str
    select: dict[str, Any]


@dataclass
class Catalogue:
    """Places by name and assets by key; lookups are case-insensitive."""

    places: dict[str, Place] = field(default_factory=dict)
    assets: dict[str, Asset] = field(default_factory=dict)
    source: str = "<memory>"

    def place(self, name: str, *, file: str | Path | None = None, field: str = "place") -> Place:
        """The place called ``name``; a clear error (with close matches) when unknown."""
        found = self.places.get(name.casefold())
        if found is None:
            raise CatalogueError(_unknown("place", name, [p.name for p in self.places.values()]),
                                 file=file, field=field, value=name)
        return found

    def asset(self, key: str, *, file: str | Path | None = None, field: str = "asset") -> Asset:
        """The asset with ``key``; a clear error (with close matches) when unknown."""
        found = self.assets.get(key.casefold())
        if found is None:
            raise CatalogueError(_unknown("asset", key, list(self.assets)), file=file, field=field, value=key)
        return found

    def with_places(self, extra: dict[str, Place]) -> Catalogue:
        """A copy with ``extra`` places added (they override same-named ones)."""
        places = dict(self.places)
        places.update({name.casefold(): p for name, p in extra.items()})
        return Catalogue(places, dict(self.assets), self.source)


def _unknown(kind: str, name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else f"; known: {', '.join(sorted(known))}"
    return f"unknown {kind}{hint}"


def parse_place(name: str, table: object, *, file: str | Path, field: str) -> Place:
    """Validate one ``{lat, lon, ...}`` table into a :class:`Place`."""
    if not isinstance(table, dict):
        raise CatalogueError("expected a table with lat and lon", file=file, field=field, value=table)
    for key, low, high in (("lat", -90.0, 90.0), ("lon", -180.0, 180.0)):
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CatalogueError(f"missing or not a number ({key} in degrees)", file=file,
                                 field=f"{field}.{key}", value=value)
        if not low <= value <= high:
            raise CatalogueError(f"out of range [{low}, {high}]", file=file, field=f"{field}.{key}", value=value)
    return Place(name=name, lat=float(table["lat"]), lon=float(table["lon"]), kind=str(table.get("kind", "place")),
                 country=str(table.get("country", "")), safe=bool(table.get("safe", False)),
                 approximate=bool(table.get("approximate", False)))


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read a catalogue TOML (default: ``places.toml`` shipped in the package)."""
    path = Path(path) if path is not None else data_path(DEFAULT_CATALOGUE)
    doc = read_toml(path, CatalogueError, "catalogue file")
    catalogue = Catalogue(source=str(path))
    for name, table in (doc.get("places") or {}).items():
        catalogue.places[name.casefold()] = parse_place(name, table, file=path, field=f"places.{name}")
    for key, table in (doc.get("assets") or {}).items():
        if not isinstance(table, dict) or not isinstance(table.get("select"), dict):
            raise CatalogueError("an asset needs a 'select' table", file=path, field=f"assets.{key}.select",
                                 value=table.get("select") if isinstance(table, dict) else table)
        catalogue.assets[key.casefold()] = Asset(key=key, label=str(table.get("label", key)), select=table["select"])
    return catalogue
