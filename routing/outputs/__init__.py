"""Outputs: the only code that draws or writes. report.md, metrics.json, od.csv, routes.gpkg,
map PNGs and map.html of a run; criticality and sweep reports; comparisons of two runs.

Everything is written into a temporary folder that replaces ``--out`` only when complete.
"""

from __future__ import annotations

from pathlib import Path

from ..files import atomic_folder
from ..results import ScenarioResult
from . import maps as png_maps
from . import report, webmap
from .access import access_layers, write_access_maps
from .formats import write_json
from .geopackage import write_geopackage


def write_outputs(result: ScenarioResult, out: str | Path, *, maps: bool = True) -> Path:
    """Write every output of ``result`` into the folder ``out`` (replaced atomically); returns it.

    ``maps=False`` skips the PNG maps and ``map.html``.
    """
    out = Path(out)
    with atomic_folder(out) as tmp:
        write_geopackage(result, tmp / "routes.gpkg", extra_layers=access_layers(result))
        result.od.to_csv(tmp / "od.csv", index=False)
        images = png_maps.write_maps(result, tmp) if maps else []
        images += write_access_maps(result, tmp) if maps else []
        if maps:
            webmap.write_web_map(result, tmp / "map.html")
        write_json(report.metrics(result), tmp / "metrics.json")
        (tmp / "report.md").write_text(report.markdown(result, [p.name for p in images]), encoding="utf-8")
    return out
