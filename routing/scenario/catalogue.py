"""Places and assets catalogue: the `places.toml` shipped in the package, or your own."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, Field

from ..errors import CatalogueError
from ..files import read_toml
from ..settings import data_path
from .selector_schema import Selector
from .validation import Latitude, Longitude, Positive, Strict, Text, unique_names, validate

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
    max_snap_m: float | None = None  # farther than this (metres) from the network is an error; None: the default


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


class PlaceTable(Strict):
    """A place in a catalogue or a scenario's ``[places] custom`` table."""

    lat: Latitude
    lon: Longitude
    kind: Text = "place"
    country: str = ""
    safe: bool = False
    approximate: bool = False
    max_snap_m: Positive | None = None  # farther than this from the network is an error (metres)

    def place(self, name: str) -> Place:
        """The :class:`Place` called ``name``."""
        return Place(name=name, **self.model_dump())


class AssetTable(Strict):
    """An asset of the catalogue: a label and the selector that finds it."""

    label: Text | None = None
    select: Selector


def _unique(table: dict[str, Any], what: str) -> dict[str, Any]:
    unique_names([(name, name) for name in table], what)
    return table


class CatalogueFile(Strict):
    """A catalogue file: ``[places.<name>]`` and ``[assets.<key>]`` tables."""

    places: Annotated[dict[Text, PlaceTable], AfterValidator(lambda t: _unique(t, "place name"))] = Field(
        default_factory=dict)
    assets: Annotated[dict[Text, AssetTable], AfterValidator(lambda t: _unique(t, "asset key"))] = Field(
        default_factory=dict)


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read a catalogue TOML (default: ``places.toml`` shipped in the package)."""
    path = Path(path) if path is not None else data_path(DEFAULT_CATALOGUE)
    doc = validate(CatalogueFile, read_toml(path, CatalogueError, "catalogue file"), file=path, error=CatalogueError)
    catalogue = Catalogue(source=str(path))
    catalogue.places.update((name.casefold(), table.place(name)) for name, table in doc.places.items())
    catalogue.assets.update((key.casefold(), Asset(key=key, label=table.label or key, select=table.select.as_dict()))
                            for key, table in doc.assets.items())
    return catalogue
