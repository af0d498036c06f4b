"""Benchmark: CPU seconds to draw the three map PNGs (map_before, map_after, map_compare) and map.html.

Two cases: the schematic demo (45 nodes, 92 edges) and a scenario on the real Malta extract
(``$ROUTING_SHARED_DATA/osm/real/malta-2018-08-27.osm.pbf``, ~39k directed edges; © OpenStreetMap
contributors, ODbL 1.0): Mosta Bridge destroyed, the Regional Road degraded, evacuation from
Valletta to Mellieħa and Birżebbuġa. The run itself is not timed, only the drawing; each drawing
is repeated ``--repeat`` times and the best CPU time (``time.process_time``: this process only,
so other jobs on the machine distort it little) is printed.

Run ``python benchmarks/bench_maps.py`` (``--repeat 3``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from routing import run_scenario
from routing.outputs.maps import write_maps
from routing.outputs.webmap import write_web_map
from routing.scenario import Scenario
from routing.settings import data_path, shared_data_dir

MALTA = {
    "scenario": {"name": "Malta: Mosta Bridge destroyed, Regional Road degraded (benchmark)"},
    "network": {"source": str(shared_data_dir() / "osm" / "real" / "malta-2018-08-27.osm.pbf")},
    "places": {"od": ["Valletta", "Mdina", "Sliema", "Mellieħa", "Birżebbuġa", "Mosta"],
               "custom": {"Valletta": {"lat": 35.8989, "lon": 14.5146}, "Mdina": {"lat": 35.8859, "lon": 14.4030},
                          "Sliema": {"lat": 35.9122, "lon": 14.5042}, "Mellieħa": {"lat": 35.9564, "lon": 14.3622},
                          "Birżebbuġa": {"lat": 35.8257, "lon": 14.5269}, "Mosta": {"lat": 35.9092, "lon": 14.4256}}},
    "evacuation": {"origin": "Valletta", "origin_radius_m": 2000, "destination_radius_m": 1500,
                   "destinations": ["Mellieħa", "Birżebbuġa"]},
    "events": [{"action": "destroy", "select": {"name": "Mosta Bridge"}, "note": "Mosta Bridge destroyed"},
               {"action": "degrade", "select": {"name": "Triq Reġjonali"}, "speed_factor": 0.5,
                "capacity_factor": 0.5, "note": "Regional Road damaged"}],
}


def cpu_seconds(fn, repeat: int) -> float:
    """Best CPU time of ``repeat`` calls of ``fn``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cases = {"demo (schematic)": Scenario.from_file(data_path("scenarios", "demo-western-syria.toml")),
             "Malta (real OSM)": Scenario.from_dict(MALTA)}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, scenario in cases.items():
            result = run_scenario(scenario)
            png = cpu_seconds(lambda r=result: write_maps(r, folder), args.repeat)
            html = cpu_seconds(lambda r=result: write_web_map(r, folder / "map.html"), args.repeat)
            print(f"{name}: {result.graph.number_of_edges():,} edges; three PNGs {png:.2f} s CPU, "
                  f"map.html {html:.2f} s CPU")


if __name__ == "__main__":
    main()
