"""Outputs of a scenario run: report.md, metrics.json, routes.gpkg, od.csv, map PNGs and map.html.

Everything is written into a temporary folder that replaces ``--out`` only when complete.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import atomic_folder

if TYPE_CHECKING:
    from ..results import ScenarioResult


def write_outputs(result: "ScenarioResult", out: str | Path, *, maps: bool = True) -> Path:
    """Write every output of ``result`` into ``out`` (atomically); returns the folder."""
    from . import export, maps as maps_mod, report, webmap

    out = Path(out)
    with atomic_folder(out) as tmp:
        export.write_geopackage(result, tmp / "routes.gpkg")
        result.od.to_csv(tmp / "od.csv", index=False)
        images = maps_mod.write_maps(result, tmp) if maps else []
        if maps:
            webmap.write_web_map(result, tmp / "map.html")
        metrics = report.metrics(result)
        report.write_metrics(metrics, tmp / "metrics.json")
        (tmp / "report.md").write_text(report.markdown(result, [p.name for p in images]), encoding="utf-8")
    return out
