"""Running a sweep: expand, evaluate every distinct failure set on an executor, aggregate."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import networkx as nx
import numpy as np

from ..files import RESULTS_MARKER, check_results_folder
from .aggregate import SweepResult, aggregate
from .evaluate import evaluate_failures, fingerprint, prepare
from .executors import Executor, Journal, SerialExecutor
from .model import Sweep

log = logging.getLogger(__name__)
JOURNAL_NAME = "partial_results.jsonl"


def open_journal(out: str | Path, fp: str) -> Journal:
    """The partial-results journal in results folder ``out`` (created; a folder this toolkit did
    not write is refused, as by :func:`routing.files.atomic_folder`)."""
    out = check_results_folder(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / RESULTS_MARKER).write_text("written by corridor-routing\n", encoding="utf-8")
    return Journal(out / JOURNAL_NAME, fp)


def run_sweep(sweep: Sweep | str | Path, *, executor: Executor | None = None,
              journal_dir: str | Path | None = None, graph: nx.MultiDiGraph | None = None) -> SweepResult:
    """Expand, evaluate every distinct failure set on ``executor`` (default serial), aggregate.

    With ``journal_dir`` (the results folder, see :func:`routing.outputs.write_sweep`), each
    finished task is appended to ``journal_dir/partial_results.jsonl`` as it arrives and a re-run
    of the same sweep skips those. If tasks fail for good,
    :class:`~routing.sweep.executors.IncompleteRun` is raised and the journal stays.
    """
    if not isinstance(sweep, Sweep):
        sweep = Sweep.from_file(sweep)
    executor = executor or SerialExecutor()
    t0 = time.perf_counter()
    G = graph if graph is not None else sweep.scenario.load_network()
    base, od_pairs = prepare(sweep, G)
    expansion = sweep.expand()
    reference = evaluate_failures(base, np.empty(0, dtype=np.int64))
    log.info("sweep %s: %d draws, %d distinct failure sets, %d OD pairs on %d workers", sweep.name,
             len(expansion.draw_task), len(expansion.failure_sets), len(od_pairs), executor.n_workers)
    journal = open_journal(journal_dir, fingerprint(sweep, base, expansion)) if journal_dir is not None else None
    t1 = time.perf_counter()
    try:
        results = executor.map(evaluate_failures, expansion.failure_sets, base, journal=journal, desc="sweep")
    finally:
        if journal:
            journal.close()
    t2 = time.perf_counter()
    result = aggregate(sweep, expansion, base, od_pairs, reference, results)
    result.run = {"executor": type(executor).__name__, "workers": executor.n_workers,
                  "prepare_seconds": t1 - t0, "tasks_seconds": t2 - t1}
    return result
