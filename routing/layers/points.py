"""A point layer: WGS84 points with a value each (persons, or 1 per facility), as flat arrays."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class PointLayer:
    """Points read from an analyst's layer.

    ``lon``/``lat`` in WGS84 degrees; ``value`` is persons for a population layer and 1 for a
    facility; ``names`` labels each point (None for raster cells, which are counted, not named);
    ``source`` says where the points came from and ``notice`` is the data notice to repeat in every
    output (licence, or "SCHEMATIC" for made-up figures). ``skipped`` counts source features left
    out, by reason (e.g. an OSM ``population`` tag that is not a number).
    """

    lon: np.ndarray
    lat: np.ndarray
    value: np.ndarray
    source: str
    names: list[str] | None = None
    notice: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.lon = np.asarray(self.lon, dtype=float)
        self.lat = np.asarray(self.lat, dtype=float)
        self.value = np.asarray(self.value, dtype=float)
        if not (self.lon.shape == self.lat.shape == self.value.shape) or self.lon.ndim != 1:
            raise ValueError("lon, lat and value must be 1-d arrays of one length")
        if self.names is not None and len(self.names) != len(self.lon):
            raise ValueError("names must hold one label per point")

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def total(self) -> float:
        """Sum of the values (persons for a population layer)."""
        return float(self.value.sum())

    def label(self, i: int) -> str:
        """The name of point i (``"cell i"`` / ``"point i"`` when the layer has no names)."""
        return self.names[i] if self.names is not None else f"point {i}"

    def to_frame(self) -> pd.DataFrame:
        """name, lon, lat, value: one row per point."""
        names = self.names if self.names is not None else [f"point {i}" for i in range(len(self))]
        return pd.DataFrame({"name": names, "lon": self.lon, "lat": self.lat, "value": self.value})
