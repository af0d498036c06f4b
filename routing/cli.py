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
from collections.abc import Collection
from pathlib import Path
from typing import NoReturn

from .errors import InputError, RoutingError
from .settings import DASK_MIN_SERIAL_S, PROFILES

log = logging.getLogger("routing")


def _scenario_with_overrides(args: argparse.Namespace):
    from dataclasses import replace

    from .scenario import Scenario, expand_path

    scenario = Scenario.from_file(args.scenario)
    if getattr(args, "network", None):
        source = expand_path(args.network, None)
        if not Path(source).exists():
            raise InputError("network file not found", field="--network", value=args.network)
        scenario = replace(scenario, network=replace(scenario.network, source=source))
    if getattr(args, "profile", None):
        # the profile's own vehicle: the file's dimensions belong to the file's profile
        scenario = replace(scenario, network=replace(scenario.network, profile=args.profile, vehicle=None))
    if getattr(args, "as_of", None):
        try:
            as_of = dt.date.fromisoformat(args.as_of)
        except ValueError as exc:
            raise InputError("expected a date YYYY-MM-DD", field="--as-of", value=args.as_of) from exc
        scenario = replace(scenario, as_of=as_of)
    return scenario


def progress_bar(args: argparse.Namespace) -> bool:
    """Progress bars: with ``--progress``, else only when stderr is a terminal (and not ``--quiet``)."""
    return bool(args.progress or (sys.stderr.isatty() and not args.quiet))


def _done(schematic: bool, report: Path, t0: float) -> int:
    """The closing lines every command prints: the data notice and where the report is."""
    if schematic:
        print("NOTE: schematic demo network, NOT OpenStreetMap data.")
    print(f"report: {report}  ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from .files import results_lock

    scenario = _scenario_with_overrides(args)
    with results_lock(args.out or Path("results") / Path(args.scenario).stem) as out:  # checked before any work
        return _run(args, scenario, out)


def _run(args: argparse.Namespace, scenario, out: Path) -> int:
    from .outputs import write_outputs
    from .run import run_scenario

    t0 = time.perf_counter()
    log.info("loading network: %s", scenario.network.source)
    G = scenario.load_network()
    log.info("network: %d nodes, %d edges (%.1f s)%s", len(G), G.number_of_edges(), time.perf_counter() - t0,
             "  [SCHEMATIC, not OpenStreetMap data]" if G.graph.get("schematic") else "")
    log.info("applying the events and computing routes")
    result = run_scenario(scenario, graph=G)
    log.info("%s", result.as_of_text())
    log.info("writing %s", out)
    write_outputs(result, out, maps=not args.no_maps)
    s = result.summary()
    print(f"{scenario.name}: {plural(s['edges_removed'], 'edge')} removed, {plural(s['nodes_closed'], 'node')} closed"
          + ("; " + ", ".join(f"{n} {k}" for k, n in sorted(s["od_status"].items())) + " OD pairs"
             if s["od_status"] else ""))
    if result.access is not None:
        for row in result.access.change.itertuples():
            if row.threshold_min == max(result.access.thresholds_min) or row.population_losing > 0:
                print(f"  {row.facility}: {row.population_losing:,.0f} persons lose access within "
                      f"{row.threshold_min:g} min ({row.population_before:,.0f} -> {row.population_after:,.0f})")
    return _done(result.schematic, out / "report.md", t0)


def plural(n: int, noun: str) -> str:
    """``"1 node"``, ``"2 nodes"``."""
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def cmd_validate(args: argparse.Namespace) -> int:
    scenario = _scenario_with_overrides(args)
    head = (f"{scenario.path}: valid ({plural(len(scenario.events), 'event')}, "
            f"{plural(len(scenario.od_places), 'OD place')})")
    if not (args.resolve or args.map):  # --map implies --resolve
        print(head)
        return 0
    from .analysis.assets import resolve_assets, summarise_selection
    from .network import EdgeKey
    from .results import event_title
    from .scenario import resolve_event

    G = scenario.load_network()
    catalogue = scenario.catalogue()
    labels = {k.casefold(): a.label for k, a in catalogue.assets.items()}
    matches: dict[str, tuple[Collection[EdgeKey], Collection[int]]] = {}
    for ev in scenario.events:  # every event resolves (or the one error is reported) before anything is printed
        sel = resolve_event(G, ev, catalogue, scenario.path)
        name = f"events[{ev.index}] {ev.action}: {event_title(ev, labels)}" + (f" ({ev.date})" if ev.date else "")
        matches[name] = (sel.edges, sel.nodes)
    assets = resolve_assets(G, catalogue)
    for key, a in assets.items():
        matches[f"asset {key}: {a.label}"] = (a.edges, a.nodes)
    print(head)
    print(f"network: {G.graph.get('source', scenario.network.source)} ({plural(G.number_of_nodes(), 'node')}, "
          f"{plural(G.number_of_edges(), 'edge')})")
    for name, (edges, nodes) in matches.items():
        m = summarise_selection(G, edges, nodes)
        print(f"  {name}: {plural(m.edges, 'edge')}, {plural(m.nodes, 'node')}, {m.km:,.2f} km of road")
        if m.roads:
            print(f"      roads: {'; '.join(m.roads[:8])}{' …' if len(m.roads) > 8 else ''}")
            ways = "way ids (schematic, not OSM)" if G.graph.get("schematic") else "OSM ways"
            print(f"      {ways}: {', '.join(m.ways[:12])}{f' … ({len(m.ways)})' if len(m.ways) > 12 else ''}")
        if m.node_names:
            print(f"      nodes: {'; '.join(m.node_names[:8])}{' …' if len(m.node_names) > 8 else ''}")
        if m.bbox:
            print("      bbox (w, s, e, n): " + ", ".join(f"{c:.5f}" for c in m.bbox))
    missing = len(catalogue.assets) - len(assets)
    if missing:
        print(f"  ({plural(missing, 'catalogue asset')} not on this network)")
    if args.map:
        from .outputs.webmap import write_selection_map

        write_selection_map(G, matches, args.map)
        print(f"map of the matches: {args.map}")
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
    """The executor of ``--serial`` (this process), ``--scheduler`` or ``--workers`` (Dask), else an
    :class:`~routing.sweep.executors.AutoExecutor`: serial unless the tasks are long enough for
    Dask to pay (``settings.DASK_MIN_SERIAL_S``); serial if the command's ``local_dask_pays`` is False
    (see :func:`add_executor_options`). Prints one line saying which runs the tasks, and why."""
    from .sweep.executors import AutoExecutor, SerialExecutor

    if args.serial:
        if args.scheduler or args.workers:
            raise RoutingError("--serial runs in this process: drop --scheduler/--workers")
        print("executor: serial (--serial)")
        return SerialExecutor(progress=progress_bar(args))
    if args.scheduler or args.workers:
        where = f"the Dask scheduler at {args.scheduler}" if args.scheduler else f"{args.workers} local Dask workers"
        print(f"executor: {where} (--{'scheduler' if args.scheduler else 'workers'})")
        return _dask_executor(args)
    if not args.local_dask_pays:
        print(f"executor: serial: {SEARCHES_USE_EVERY_CORE}")
        return SerialExecutor(progress=progress_bar(args))
    return AutoExecutor(lambda: _dask_executor(args), progress=progress_bar(args),
                        on_choice=lambda why: print(f"executor: {why}", flush=True))


def _dask_executor(args: argparse.Namespace):
    """A DaskExecutor on ``--scheduler`` or a LocalCluster of ``--workers`` processes (default: one per core)."""
    import distributed  # noqa: F401 - sets up its loggers on import; quiet them after that

    from .sweep.executors import DaskExecutor

    if not args.verbose:
        logging.getLogger("distributed").setLevel(logging.WARNING)
        # a LocalCluster closing at the end of a normal run stops its worker processes; distributed
        # warns "Worker process still alive after 4.0 seconds, killing" about each one it had to stop
        logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    return DaskExecutor(args.scheduler, args.workers, progress=progress_bar(args))


def cmd_sweep(args: argparse.Namespace) -> int:
    from .files import results_lock
    from .sweep import Sweep

    sweep = Sweep.from_file(args.sweep)
    with results_lock(args.out or Path("results") / Path(args.sweep).stem) as out:  # checked before any work
        return _sweep(args, sweep, out)


def _sweep(args: argparse.Namespace, sweep, out: Path) -> int:
    from .outputs.sweep import write_sweep
    from .sweep import run_sweep

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
    from .outputs.access import write_access_criticality
    from .run import scenario_network
    from .scenario.access import load_access_layers

    access = scenario.access
    if access is None:
        raise InputError("--weight population needs an [access] table in the scenario", file=scenario.path,
                         field="access", value=None)
    facility = args.facility or next(iter(access.facilities))
    if facility not in access.facilities:
        raise InputError(f"--facility: no such facility type; the [access] table has {', '.join(access.facilities)}",
                         file=scenario.path, field="access.facilities", value=facility)
    G = scenario.load_network()
    network = scenario_network(scenario, G)
    catalogue = scenario.catalogue()
    layers = load_access_layers(scenario, catalogue)
    population = snap_layer(network, layers.population, max_snap_m=access.max_snap_m,
                            spread_m=access.population.spread_m)
    facilities = snap_layer(network, layers.facilities[facility], max_snap_m=access.max_snap_m)
    groups = asset_groups(network, catalogue) if args.groups == "assets" else args.groups
    threshold = args.threshold_min or access.criticality_threshold_min
    with make_executor(args) as executor:
        result = access_criticality(network, population, facilities, groups=groups, threshold_min=threshold,
                                    top=args.candidates, progress=progress_bar(args), map_fn=executor.map_fn)
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
    from .files import results_lock

    scenario = _scenario_with_overrides(args)
    if args.weight == "od" and len(scenario.od_places) < 2:
        raise InputError("needs at least two places for criticality", file=scenario.path, field="places.od",
                         value=scenario.od_places)
    with results_lock(args.out or Path("results") / f"{Path(args.scenario).stem}-criticality") as out:
        return _criticality(args, scenario, out)  # the folder was checked and locked before any work


def _criticality(args: argparse.Namespace, scenario, out: Path) -> int:
    from .analysis.assets import resolve_assets
    from .analysis.criticality import asset_groups, criticality
    from .analysis.places import scenario_places
    from .outputs.criticality import candidate_name, write_criticality
    from .run import scenario_network

    t0 = time.perf_counter()
    if args.weight == "population":
        return cmd_access_criticality(args, scenario, out, t0)
    G = scenario.load_network()
    network = scenario_network(scenario, G)
    catalogue = scenario.catalogue()
    places, _ = scenario_places(network, scenario, catalogue, scenario.od_places)
    node_of = {name: int(node) for name, node in zip(places["name"], places["node"])}
    groups = asset_groups(network, catalogue) if args.groups == "assets" else args.groups
    with make_executor(args) as executor:
        result = criticality(network, list(dict.fromkeys(node_of.values())), groups=groups,
                             progress=progress_bar(args), map_fn=executor.map_fn,
                             assets=resolve_assets(G, catalogue))
    if args.groups == "assets":
        result.summary["grouping"] = "assets"
    write_criticality(result, out, graph=G, places=node_of, top=args.top)
    top = result.table.head(min(args.top, 5))
    print(f"criticality of {len(result.table)} candidates ({args.groups}) among {len(node_of)} places; top:")
    for row in top.itertuples():
        label = row.group if args.groups == "assets" else candidate_name(row)
        print(f"  #{row.rank} {label} ({row.osmid}): {row.pairs_cut_off} pairs cut off, {row.pairs_rerouted} "
              f"rerouted, +{row.delta_total_time_s / 60:,.1f} min")
    return _done(bool(G.graph.get("schematic")), out / "criticality.md", t0)


SEARCHES_USE_EVERY_CORE = ("criticality's searches already run on every core, so a local Dask cluster does not "
                           "pay (benchmarks/bench_executor.py); --workers N or --scheduler ADDRESS to use Dask")


def add_executor_options(parser: argparse.ArgumentParser, *, local_dask_pays: bool = True) -> None:
    """--scheduler / --workers / --serial, for commands that run on the executor. ``local_dask_pays``
    False: the command's tasks already use every core, so :func:`make_executor` never starts a local
    Dask cluster on its own."""
    parser.set_defaults(local_dask_pays=local_dask_pays)
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="address of a running Dask scheduler (e.g. tcp://host:8786)")
    parser.add_argument("--workers", type=_positive_int, metavar="N",
                        help="run on N local Dask worker processes")
    parser.add_argument("--serial", action="store_true", help="run in this process, without Dask")
    parser.epilog = ("Without --scheduler, --workers or --serial the tasks run in this process unless they would "
                     "take long enough for a local Dask cluster (one worker per core) to pay: "
                     f"more than {DASK_MIN_SERIAL_S:g} s serially, estimated from the first tasks."
                     if local_dask_pays else
                     f"Without --scheduler or --workers the tasks run in this process: {SEARCHES_USE_EVERY_CORE}.")


COMPARE_MARKER = "<!-- written by corridor-routing compare -->"  # first line of a `compare --out` file


def cmd_compare(args: argparse.Namespace) -> int:
    from .files import atomic_path, check_output_file
    from .outputs.compare import compare_results

    if args.out:
        check_output_file(args.out, COMPARE_MARKER)  # before any work; never overwrite a file we did not write
    comparison = compare_results(args.result_a, args.result_b)
    text = comparison.to_markdown()
    if args.out:
        with atomic_path(args.out) as tmp:
            tmp.write_text(f"{COMPARE_MARKER}\n{text}", encoding="utf-8")
        print(f"{len(comparison.od_differences)} of {len(comparison.od)} OD pairs differ; comparison: {args.out}")
    else:
        print(text)
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse, with a bad argument reported in one line (``error: routing run: ...``), exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return value


PROFILE_HELP = ("route this vehicle profile instead of the scenario's network.profile: car, or truck (40 t, 4 m "
                "high, at most 80 km/h; keeps off roads closed to heavy goods vehicles or too weak, low or narrow)")
NETWORK_HELP = ("use this network instead of the scenario's network.source: an OSM file (.osm, .osm.gz, .osm.bz2, "
                ".osm.pbf), Overpass JSON (.json) or GraphML (.graphml)")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="routing", description="Damage scenarios on OpenStreetMap road networks.")
    parser.add_argument("--version", action="version", version=f"corridor-routing {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors")
    parser.add_argument("--progress", action="store_true",
                        help="show progress bars even when the output is not a terminal (they are shown on a "
                             "terminal anyway, never with --quiet unless this is given)")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and write report, metrics, GeoPackage and maps")
    run.add_argument("scenario", help="scenario TOML file, or the name of a shipped scenario ('demo'; see "
                                      "'routing scenarios')")
    run.add_argument("--out", metavar="FOLDER",
                     help="results folder, replaced as a whole when the run succeeds (default: "
                          "./results/<SCENARIO's file name without .toml>, e.g. results/demo for 'routing run demo')")
    run.add_argument("--network", metavar="FILE", help=NETWORK_HELP)
    run.add_argument("--profile", choices=sorted(PROFILES), help=PROFILE_HELP)
    run.add_argument("--as-of", metavar="YYYY-MM-DD",
                     help="apply only the events dated on or before this date; the report, metrics.json and the "
                          "maps say how many were applied and which were not")
    run.add_argument("--no-maps", action="store_true", help="skip the maps (PNGs and map.html)")
    run.set_defaults(func=cmd_run)

    val = sub.add_parser("validate", help="check a scenario file; --resolve also shows what its events match")
    val.add_argument("scenario", help="scenario TOML file or shipped scenario name")
    val.add_argument("--resolve", action="store_true",
                     help="also load the network and show what each event and each catalogue asset matches: "
                          "roads (ref, name), OSM way ids, km of road, nodes, bounding box")
    val.add_argument("--map", metavar="FILE.html", help="also draw those matches on an interactive map "
                                                        "(implies --resolve)")
    val.add_argument("--network", metavar="FILE", help=NETWORK_HELP)
    val.set_defaults(func=cmd_validate)

    places = sub.add_parser("places", help="list the places and assets catalogue")
    places.add_argument("--catalogue", metavar="FILE", help="catalogue TOML (default: the places.toml shipped in "
                                                              "the package)")
    places.set_defaults(func=cmd_places)

    scenarios = sub.add_parser("scenarios", help="list the scenario and sweep files shipped in the package")
    scenarios.set_defaults(func=cmd_scenarios)

    sweep = sub.add_parser("sweep", help="run a scenario sweep (combinations or Monte-Carlo draws), serially or "
                                         "on Dask")
    sweep.add_argument("sweep", help="sweep TOML file, or a shipped sweep's name ('sweep-western-syria')")
    sweep.add_argument("--out", metavar="FOLDER",
                       help="results folder (default: ./results/<SWEEP's file name without .toml>); partial "
                            "results are kept there if a run fails, and a re-run resumes from them")
    add_executor_options(sweep)
    sweep.set_defaults(func=cmd_sweep)

    crit = sub.add_parser("criticality", help="rank edges (or assets) by the OD travel time lost and pairs cut "
                                              "when each alone is removed")
    crit.add_argument("scenario", help="scenario TOML file or shipped name (its network and places.od are used; "
                                       "its events are not)")
    crit.add_argument("--top", type=_positive_int, default=20, help="rows in the report and on the map (default 20)")
    crit.add_argument("--out", metavar="FOLDER",
                      help="results folder, replaced as a whole (default: ./results/<SCENARIO's file name without "
                           ".toml>-criticality, e.g. results/demo-criticality)")
    crit.add_argument("--groups", choices=("segment", "edge", "osmid", "assets"), default="segment",
                      help="candidate unit: a road segment both directions (default), one directed edge, "
                           "an OSM way (ways that remove the same edges are one candidate), or each catalogue "
                           "asset (multi-link)")
    crit.add_argument("--network", metavar="FILE", help=NETWORK_HELP)
    crit.add_argument("--profile", choices=sorted(PROFILES), help=PROFILE_HELP)
    crit.add_argument("--weight", choices=("od", "population"), default="od",
                      help="rank by OD travel time lost and pairs cut (default), or by the population losing "
                           "access to a facility type of the scenario's [access] table (persons, person-hours)")
    crit.add_argument("--facility", metavar="TYPE",
                      help="--weight population: the facility type (default: the first in [access])")
    crit.add_argument("--threshold-min", type=float, metavar="MINUTES",
                      help="--weight population: 'loses access' = no longer within this many minutes "
                           "(default: [access] criticality_threshold_min)")
    crit.add_argument("--candidates", type=_positive_int, metavar="N",
                      help="--weight population: evaluate only the N candidates carrying the most people on their "
                           "way to a facility (default: every candidate on some path)")
    add_executor_options(crit, local_dask_pays=False)
    crit.set_defaults(func=cmd_criticality, as_of=None)

    compare = sub.add_parser("compare", help="compare two results folders side by side "
                                             "(summary, events, OD pairs, evacuation)")
    compare.add_argument("result_a", help="results folder of run A (holds metrics.json)")
    compare.add_argument("result_b", help="results folder of run B")
    compare.add_argument("--out", metavar="FILE.md", help="write the comparison to this Markdown file instead of "
                                                         "printing it")
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


def console() -> NoReturn:
    """The ``routing`` command: :func:`main`, then exit at once. Every output is written and closed
    by then; only freeing the interpreter's objects is skipped (a national graph's millions of
    Python objects took seconds to free). Never called by library code or tests, which use :func:`main`."""
    code = main()
    logging.shutdown()  # flushes the log handlers
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError):  # the reader went away, or the stream was closed
            pass
    os._exit(code)


if __name__ == "__main__":
    console()
