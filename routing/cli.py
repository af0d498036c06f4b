"""Command line: ``routing run|validate|places ...``. Thin: every command calls the library."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from collections.abc import Callable
from pathlib import Path

from .errors import RoutingError

log = logging.getLogger("routing")
COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {}


def _scenario_with_overrides(args: argparse.Namespace):
    from dataclasses import replace

    from .scenario import NetworkSpec, Scenario, expand_path

    scenario = Scenario.from_file(args.scenario)
    if getattr(args, "network", None):
        source = expand_path(args.network, None)
        if not Path(source).exists():
            raise RoutingError(f"--network {args.network!r}: file not found")
        scenario = replace(scenario, network=NetworkSpec(source, scenario.network.road_classes, scenario.network.bbox))
    if getattr(args, "as_of", None):
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError as exc:
            raise RoutingError(f"--as-of {args.as_of!r}: expected a date YYYY-MM-DD") from exc
        scenario = replace(scenario, as_of=as_of)
    return scenario


def cmd_run(args: argparse.Namespace) -> int:
    from .run import load_scenario_network, run_scenario

    scenario = _scenario_with_overrides(args)
    out = Path(args.out or Path("results") / Path(args.scenario).stem)
    t0 = time.perf_counter()
    log.info("loading network: %s", scenario.network.source)
    G = load_scenario_network(scenario)
    log.info("network: %d nodes, %d edges (%.1f s)%s", len(G), G.number_of_edges(), time.perf_counter() - t0,
             "  [SCHEMATIC, not OpenStreetMap data]" if G.graph.get("schematic") else "")
    log.info("applying %d events and computing routes", len(scenario.events))
    result = run_scenario(scenario, graph=G)
    log.info("writing %s", out)
    result.write(str(out), maps=not args.no_maps)
    s = result.summary()
    print(f"{scenario.name}: {s['edges_removed']} edges removed, {s['nodes_closed']} nodes closed; "
          + ", ".join(f"{n} {k}" for k, n in sorted(s["od_status"].items())) + " OD pairs")
    if result.schematic:
        print("NOTE: schematic demo network, NOT OpenStreetMap data.")
    print(f"report: {out / 'report.md'}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from .run import load_scenario_network
    from .scenario import resolve_event

    scenario = _scenario_with_overrides(args)
    print(f"{args.scenario}: valid ({len(scenario.events)} events, {len(scenario.od_places)} OD places)")
    if args.resolve:
        G = load_scenario_network(scenario)
        catalogue = scenario.catalogue()
        for ev in scenario.events:
            sel = resolve_event(G, ev, catalogue, scenario.path)
            print(f"  events[{ev.index}] {ev.action} {ev.label}: {len(sel.edges)} edges, {len(sel.nodes)} nodes")
    return 0


def cmd_places(args: argparse.Namespace) -> int:
    from .places import load_catalogue

    catalogue = load_catalogue(args.catalogue)
    for p in sorted(catalogue.places.values(), key=lambda p: p.name):
        print(f"{p.name:24s} {p.lat:9.4f} {p.lon:9.4f}  {p.kind}{' (approx.)' if p.approximate else ''}")
    for a in sorted(catalogue.assets.values(), key=lambda a: a.key):
        print(f"asset {a.key:20s} {a.label}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="routing", description="Damage scenarios on OpenStreetMap road networks.")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write report, metrics, GeoPackage and maps")
    run.add_argument("scenario", help="scenario TOML file")
    run.add_argument("--out", help="results folder (default results/<scenario name>); replaced atomically")
    run.add_argument("--network", help="use this network file instead of the scenario's (.osm, .json, .osm.pbf, .graphml)")
    run.add_argument("--as-of", help="apply only events dated on or before this date (YYYY-MM-DD)")
    run.add_argument("--no-maps", action="store_true", help="skip the PNG maps")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check a scenario file; --resolve also resolves its events on the network")
    val.add_argument("scenario")
    val.add_argument("--resolve", action="store_true")
    val.add_argument("--network")
    val.set_defaults(func=cmd_validate)

    places = sub.add_parser("places", help="list the places and assets catalogue")
    places.add_argument("--catalogue", help="catalogue TOML (default data/places.toml)")
    places.set_defaults(func=cmd_places)

    for register in _EXTENSIONS:
        register(sub)
    return parser


_EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    try:
        return args.func(args)
    except RoutingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no results folder was changed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
