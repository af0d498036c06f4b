"""Command line: ``routing run|validate|places|scenarios|criticality|sweep|compare``.

Thin: every command parses its arguments and calls what a notebook calls; nothing heavy is
imported before a command runs, so ``routing --help`` answers at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
import time
from pathlib import Path

from .errors import RoutingError

log = logging.getLogger("routing")


def _scenario_with_overrides(args: argparse.Namespace):
    from dataclasses import replace

    from .scenario import Scenario, expand_path

    scenario = Scenario.from_file(args.scenario)
    if getattr(args, "network", None):
        source = expand_path(args.network, None)
        if not Path(source).exists():
            raise RoutingError(f"--network {args.network!r}: file not found")
        scenario = replace(scenario, network=replace(scenario.network, source=source))
    if getattr(args, "as_of", None):
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError as exc:
            raise RoutingError(f"--as-of {args.as_of!r}: expected a date YYYY-MM-DD") from exc
        scenario = replace(scenario, as_of=as_of)
    return scenario


def _done(schematic: bool, report: Path, t0: float) -> int:
    """The closing lines every command prints: the data notice and where the report is."""
    if schematic:
        print("NOTE: schematic demo network, NOT OpenStreetMap data.")
    print(f"report: {report}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .outputs import write_outputs
    from .run import run_scenario

    scenario = _scenario_with_overrides(args)
    out = Path(args.out or Path("results") / Path(args.scenario).stem)
    t0 = time.perf_counter()
    log.info("loading network: %s", scenario.network.source)
    G = scenario.load_network()
    log.info("network: %d nodes, %d edges (%.1f s)%s", len(G), G.number_of_edges(), time.perf_counter() - t0,
             "  [SCHEMATIC, not OpenStreetMap data]" if G.graph.get("schematic") else "")
    log.info("applying %d events and computing routes", len(scenario.events))
    result = run_scenario(scenario, graph=G)
    log.info("writing %s", out)
    write_outputs(result, out, maps=not args.no_maps)
    s = result.summary()
    print(f"{scenario.name}: {s['edges_removed']} edges removed, {s['nodes_closed']} nodes closed"
          + ("; " + ", ".join(f"{n} {k}" for k, n in sorted(s["od_status"].items())) + " OD pairs"
             if s["od_status"] else ""))
    if result.access is not None:
        for row in result.access.change.itertuples():
            if row.threshold_min == max(result.access.thresholds_min) or row.population_losing > 0:
                print(f"  {row.facility}: {row.population_losing:,.0f} persons lose access within "
                      f"{row.threshold_min:g} min ({row.population_before:,.0f} -> {row.population_after:,.0f})")
    return _done(result.schematic, out / "report.md", t0)


def cmd_validate(args: argparse.Namespace) -> int:
    from .scenario import resolve_event

    scenario = _scenario_with_overrides(args)
    print(f"{scenario.path}: valid ({len(scenario.events)} events, {len(scenario.od_places)} OD places)")
    if args.resolve:
        G = scenario.load_network()
        catalogue = scenario.catalogue()
        for ev in scenario.events:
            sel = resolve_event(G, ev, catalogue, scenario.path)
            print(f"  events[{ev.index}] {ev.action} {ev.label}: {len(sel.edges)} edges, {len(sel.nodes)} nodes")
    return 0


def cmd_places(args: argparse.Namespace) -> int:
    from .scenario import load_catalogue

    catalogue = load_catalogue(args.catalogue)
    for p in sorted(catalogue.places.values(), key=lambda p: p.name):
        print(f"{p.name:24s} {p.lat:9.4f} {p.lon:9.4f}  {p.kind}{' (approx.)' if p.approximate else ''}")
    for a in sorted(catalogue.assets.values(), key=lambda a: a.key):
        print(f"asset {a.key:20s} {a.label}")
    return 0


def cmd_scenarios(args: argparse.Namespace) -> int:
    from .scenario import shipped_scenarios

    for name, path in shipped_scenarios().items():
        first = next((line.lstrip("# ").strip() for line in path.read_text(encoding="utf-8").splitlines()
                      if line.strip()), "")
        print(f"{name:28s} {path}\n{'':28s} {first}")
    return 0


def make_executor(args: argparse.Namespace):
    """SerialExecutor with ``--serial``, else a DaskExecutor on ``--scheduler`` or a LocalCluster
    of ``--workers`` processes (default: one per core)."""
    from .sweep import DaskExecutor, SerialExecutor

    if args.serial:
        if args.scheduler or args.workers:
            raise RoutingError("--serial runs in this process: drop --scheduler/--workers")
        return SerialExecutor(progress=not args.quiet)
    import distributed  # noqa: F401 - sets up its loggers on import; quiet them after that

    if not args.verbose:
        logging.getLogger("distributed").setLevel(logging.WARNING)
    return DaskExecutor(args.scheduler, args.workers, progress=not args.quiet)


def cmd_sweep(args: argparse.Namespace) -> int:
    from .outputs.sweep import write_sweep
    from .sweep import Sweep, run_sweep

    sweep = Sweep.from_file(args.sweep)
    out = Path(args.out or Path("results") / Path(args.sweep).stem)
    t0 = time.perf_counter()
    with make_executor(args) as executor:
        result = run_sweep(sweep, executor=executor, journal_dir=out)
    write_sweep(result, out)
    s = result.draws_summary
    print(f"{sweep.name}: {len(result.draws)} draws ({len(result.expansion.failure_sets)} distinct failure sets) "
          f"on {result.run['workers']} worker(s); mean {s['disconnected_pairs_mean']:.2f} of {s['od_pairs']} "
          f"OD pairs cut per draw; top asset: {result.asset_impact['asset'].iloc[0]}")
    return _done(result.schematic, out / "sweep_report.md", t0)


def cmd_access_criticality(args: argparse.Namespace, scenario, out: Path, t0: float) -> int:
    """``routing criticality --weight population``: candidates ranked by the people losing access."""
    from .analysis.access import access_criticality, snap_layer
    from .analysis.criticality import asset_groups
    from .engine import Network
    from .outputs.access import write_access_criticality
    from .scenario.access import load_access_layers

    access = scenario.access
    if access is None:
        raise RoutingError(f"{args.scenario}: --weight population needs an [access] table in the scenario")
    facility = args.facility or next(iter(access.facilities))
    if facility not in access.facilities:
        raise RoutingError(f"{args.scenario}: --facility {facility!r}: no such facility type; the [access] table "
                           f"has {', '.join(access.facilities)}")
    G = scenario.load_network()
    network = Network(G, capacity_per_lane_vph=scenario.capacity_per_lane_vph)
    catalogue = scenario.catalogue()
    layers = load_access_layers(scenario, catalogue)
    population = snap_layer(network, layers.population, max_snap_m=access.max_snap_m,
                            spread_m=access.population.spread_m)
    facilities = snap_layer(network, layers.facilities[facility], max_snap_m=access.max_snap_m)
    groups = asset_groups(network, catalogue) if args.groups == "assets" else args.groups
    threshold = args.threshold_min or access.criticality_threshold_min
    with make_executor(args) as executor:
        result = access_criticality(network, population, facilities, groups=groups, threshold_min=threshold,
                                    top=args.candidates, progress=not args.quiet, map_fn=executor.map_fn)
    if args.groups == "assets":
        result.summary["grouping"] = "assets"
    layer = layers.facilities[facility]
    names = {layer.label(i): network.nodes[n] for i, n in enumerate(facilities.node) if n >= 0}
    write_access_criticality(result, out, graph=G, facilities=names, top=args.top, facility=facility,
                             notice=layers.population.notice)
    print(f"population-weighted criticality of {len(result.table)} candidates ({args.groups}): persons losing "
          f"access to a {facility} within {threshold:g} min; top:")
    for row in result.table.head(min(args.top, 5)).itertuples():
        label = row.group if args.groups == "assets" else (row.ref or row.name or f"edge {row.u}->{row.v}")
        print(f"  {row.population_losing_access:,.0f} persons, +{row.person_hours_added:,.1f} person-hours: {label}")
    return _done(bool(G.graph.get("schematic")), out / "criticality.md", t0)


def cmd_criticality(args: argparse.Namespace) -> int:
    from .analysis.criticality import asset_groups, criticality
    from .analysis.places import main_component_nodes, snap_places
    from .engine import Network
    from .files import check_results_folder
    from .outputs.criticality import write_criticality

    scenario = _scenario_with_overrides(args)
    out = check_results_folder(args.out or Path("results") / f"{Path(args.scenario).stem}-criticality")
    t0 = time.perf_counter()
    if args.weight == "population":
        return cmd_access_criticality(args, scenario, out, t0)
    if len(scenario.od_places) < 2:
        raise RoutingError(f"{args.scenario}: places.od needs at least two places for criticality")
    G = scenario.load_network()
    network = Network(G, capacity_per_lane_vph=scenario.capacity_per_lane_vph)
    catalogue = scenario.catalogue()
    places = snap_places(network, [catalogue.place(n) for n in scenario.od_places], main_component_nodes(network))
    node_of = {name: int(node) for name, node in zip(places["name"], places["node"])}
    groups = asset_groups(network, catalogue) if args.groups == "assets" else args.groups
    with make_executor(args) as executor:
        result = criticality(network, list(dict.fromkeys(node_of.values())), groups=groups,
                             progress=not args.quiet, map_fn=executor.map_fn)
    if args.groups == "assets":
        result.summary["grouping"] = "assets"
    write_criticality(result, out, graph=G, places=node_of, top=args.top)
    top = result.table.head(min(args.top, 5))
    print(f"criticality of {len(result.table)} candidates ({args.groups}) among {len(node_of)} places; top:")
    for row in top.itertuples():
        label = row.group if args.groups == "assets" else (row.ref or row.name or f"edge {row.u}->{row.v}")
        print(f"  {row.pairs_disconnected} pairs cut, +{row.delta_total_time_s / 60:,.1f} min: {label}")
    return _done(bool(G.graph.get("schematic")), out / "criticality.md", t0)


def add_executor_options(parser: argparse.ArgumentParser) -> None:
    """--scheduler / --workers / --serial, for commands that run on the executor."""
    parser.add_argument("--scheduler", help="address of a running Dask scheduler (e.g. tcp://host:8786)")
    parser.add_argument("--workers", type=int, help="local Dask worker processes (default: one per core)")
    parser.add_argument("--serial", action="store_true", help="run in this process, without Dask")


def cmd_compare(args: argparse.Namespace) -> int:
    from .files import atomic_path
    from .outputs.compare import compare_results

    comparison = compare_results(args.result_a, args.result_b)
    text = comparison.to_markdown()
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(text, encoding="utf-8")
        print(f"{len(comparison.od_differences)} of {len(comparison.od)} OD pairs differ; comparison: {args.out}")
    else:
        print(text)
    return 0


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="routing", description="Damage scenarios on OpenStreetMap road networks.")
    parser.add_argument("--version", action="version", version=f"corridor-routing {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write report, metrics, GeoPackage and maps")
    run.add_argument("scenario", help="scenario TOML file, or the name of a shipped scenario ('demo'; see "
                                      "'routing scenarios')")
    run.add_argument("--out", help="results folder (default results/<scenario name>); replaced atomically")
    run.add_argument("--network", help="use this network file instead of the scenario's "
                                       "(.osm, .osm.gz, .osm.pbf, .json from Overpass, .graphml)")
    run.add_argument("--as-of", help="apply only events dated on or before this date (YYYY-MM-DD)")
    run.add_argument("--no-maps", action="store_true", help="skip the maps (PNGs and map.html)")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check a scenario file; --resolve also resolves its events on the network")
    val.add_argument("scenario", help="scenario TOML file or shipped scenario name")
    val.add_argument("--resolve", action="store_true", help="also load the network and show what each event matches")
    val.add_argument("--network", help="use this network file instead of the scenario's")
    val.set_defaults(func=cmd_validate)

    places = sub.add_parser("places", help="list the places and assets catalogue")
    places.add_argument("--catalogue", help="catalogue TOML (default: the places.toml shipped in the package)")
    places.set_defaults(func=cmd_places)

    scenarios = sub.add_parser("scenarios", help="list the scenario and sweep files shipped in the package")
    scenarios.set_defaults(func=cmd_scenarios)

    sweep = sub.add_parser("sweep", help="run a scenario sweep (combinations or Monte-Carlo draws) on Dask")
    sweep.add_argument("sweep", help="sweep TOML file, or a shipped sweep's name ('sweep-western-syria')")
    sweep.add_argument("--out", help="results folder (default results/<sweep file name>); partial results are "
                                     "kept there if a run fails, and a re-run resumes from them")
    add_executor_options(sweep)
    sweep.set_defaults(func=cmd_sweep)

    crit = sub.add_parser("criticality", help="rank edges (or assets) by the OD travel time lost and pairs cut "
                                              "when each alone is removed")
    crit.add_argument("scenario", help="scenario TOML file or shipped name (its network and places.od are used; "
                                       "its events are not)")
    crit.add_argument("--top", type=int, default=20, help="rows in the report and on the map (default 20)")
    crit.add_argument("--out", help="results folder (default results/<scenario>-criticality); replaced atomically")
    crit.add_argument("--groups", choices=("segment", "edge", "osmid", "assets"), default="segment",
                      help="candidate unit: a road segment both directions (default), one directed edge, "
                           "an OSM way, or each catalogue asset (multi-link)")
    crit.add_argument("--network", help="use this network file instead of the scenario's")
    crit.add_argument("--weight", choices=("od", "population"), default="od",
                      help="rank by OD travel time lost and pairs cut (default), or by the population losing "
                           "access to a facility type of the scenario's [access] table (persons, person-hours)")
    crit.add_argument("--facility", help="--weight population: the facility type (default: the first in [access])")
    crit.add_argument("--threshold-min", type=float,
                      help="--weight population: 'loses access' = no longer within this many minutes "
                           "(default: [access] criticality_threshold_min)")
    crit.add_argument("--candidates", type=int,
                      help="--weight population: evaluate only the N candidates carrying the most people on their "
                           "way to a facility (default: every candidate on some path)")
    add_executor_options(crit)
    crit.set_defaults(func=cmd_criticality, as_of=None)

    compare = sub.add_parser("compare", help="compare two results folders side by side "
                                             "(summary, events, OD pairs, evacuation)")
    compare.add_argument("result_a", help="results folder of run A (holds metrics.json)")
    compare.add_argument("result_b", help="results folder of run B")
    compare.add_argument("--out", help="write the comparison to this Markdown file instead of printing it")
    compare.set_defaults(func=cmd_compare)

    return parser


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
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        sys.stdout = open(os.devnull, "w")
        return 0
    except KeyboardInterrupt:
        print("interrupted; no results folder was changed", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
