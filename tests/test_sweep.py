"""Scenario sweeps and the executors: expansion, validation, Dask == serial, killed workers, resuming."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path

import cloudpickle
import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

import routing.sweep as sweep_mod
import routing.sweep.run as sweep_run
from routing.cli import main
from routing.errors import InputError
from routing.outputs.sweep import sweep_metrics
from routing.outputs.sweep import write_sweep as write_sweep_outputs
from routing.sweep import JOURNAL_NAME, DaskExecutor, IncompleteRun, Journal, SerialExecutor, Sweep, run_sweep

SWEEP = ROOT / "scenarios" / "sweep-western-syria.toml"
cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
EVALUATE = sweep_mod.evaluate_failures


def _slow_evaluate(base, failed):
    """The real per-draw work, slowed so that a worker can be killed while tasks are in flight."""
    time.sleep(0.03)
    return EVALUATE(base, failed)


def write_sweep(tmp_path: Path, body: str, *, header: str | None = None) -> Path:
    base = (ROOT / "scenarios" / "demo-western-syria.toml").as_posix()
    path = tmp_path / "sweep.toml"
    path.write_text((header if header is not None else f'[sweep]\nbase = "{base}"\n') + body, encoding="utf-8")
    return path


ASSETS = """
[[sweep.assets]]
asset = "rastan_bridge"
failure_probability = 0.5

[[sweep.assets]]
asset = "jousiyeh_crossing"
failure_probability = 0.25
action = "close"
"""


@pytest.fixture(scope="module")
def demo_sweep() -> Sweep:
    return Sweep.from_file(SWEEP)


@pytest.fixture(scope="module")
def serial_result(demo_sweep, demo_graph):
    return run_sweep(demo_sweep, graph=demo_graph, executor=SerialExecutor(progress=False))


@pytest.fixture(scope="module")
def dask_executor():
    with DaskExecutor(n_workers=2, progress=False, batch_size=1) as ex:
        yield ex


def assert_same(a, b) -> None:
    pd.testing.assert_frame_equal(a.od_connectivity, b.od_connectivity, check_exact=True)
    pd.testing.assert_frame_equal(a.asset_impact, b.asset_impact, check_exact=True)
    pd.testing.assert_frame_equal(a.draws, b.draws, check_exact=True)
    ma, mb = sweep_metrics(a), sweep_metrics(b)
    ma.pop("run"), mb.pop("run")
    assert ma == mb


def wait_for_lines(path: Path, n: int, timeout: float = 30.0) -> None:
    """Block until the journal holds ``n`` results (plus its header line)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists() and path.read_text(encoding="utf-8").count("\n") >= n + 1:
            return
        time.sleep(0.01)
    raise AssertionError(f"{path} never reached {n} results")


def kill_one_worker(ex: DaskExecutor, journal: Path, after: int) -> threading.Thread:
    """In the background: once ``after`` results are journalled, SIGKILL one worker process."""
    pids = list(ex.client.run(os.getpid).values())

    def kill() -> None:
        wait_for_lines(journal, after)
        os.kill(pids[0], signal.SIGKILL)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    thread.pids = pids
    return thread


# ---------------------------------------------------------------- expansion and validation

def test_expansion_is_deterministic(demo_sweep):
    sampled = dataclasses.replace(demo_sweep, draws=60)  # 2^6 = 64 sets > 60 draws: Monte-Carlo
    a, b = sampled.expand(), sampled.expand()
    assert not a.exact and a.method == "60 Monte-Carlo draws"
    assert [s.tolist() for s in a.failure_sets] == [s.tolist() for s in b.failure_sets]
    assert np.array_equal(a.draw_task, b.draw_task) and len(a.draw_task) == sampled.draws
    other = dataclasses.replace(sampled, seed=sampled.seed + 1).expand()
    assert not np.array_equal(other.failed_matrix(6), a.failed_matrix(6))
    assert len(a.failure_sets) <= len(a.draw_task)  # identical draws computed once


def test_small_failure_space_is_enumerated_exactly(demo_sweep):
    """6 assets: 64 failure sets, fewer than the 2,000 draws asked for: every set once, weighted by
    its probability; the probabilities of each asset's failure are exact."""
    ex = demo_sweep.expand()
    assert ex.exact and len(ex.failure_sets) == 64 == len(ex.draw_task)
    assert ex.method == "exact: all 64 failure sets, weighted by probability"
    assert ex.weight.sum() == pytest.approx(1.0)
    share = (ex.failed_matrix(6) * ex.weight[:, None]).sum(axis=0) / ex.weight.sum()
    assert np.allclose(share, [a.failure_probability for a in demo_sweep.assets])


def test_combinations_enumerate_every_subset_weighted_by_probability(tmp_path):
    sw = Sweep.from_file(write_sweep(tmp_path, 'mode = "combinations"\n' + ASSETS))
    ex = sw.expand()
    assert [s.tolist() for s in ex.failure_sets] == [[], [0], [1], [0, 1]]
    assert np.allclose(ex.weight, [0.375, 0.375, 0.125, 0.125]) and ex.coverage == pytest.approx(1.0)
    capped = Sweep.from_file(write_sweep(tmp_path, 'mode = "combinations"\nmax_failed = 1\n' + ASSETS)).expand()
    assert len(capped.failure_sets) == 3 and capped.coverage == pytest.approx(0.875)


def test_exact_sweep_has_no_sampling_artefact(serial_result):
    """The issue's case: sampled, the M1 asset showed "Δ pairs cut −1.33"; exactly it is 0, and
    its evacuation loss is the largest of all assets."""
    ranked = serial_result.asset_impact.set_index("asset")
    m1 = ranked.loc["m1_homs_tall_kalakh"]
    assert m1["delta_disconnected_pairs"] == 0.0 and not m1["delta_disconnected_pairs_nonzero"]
    assert m1["delta_evacuation_persons_per_hour"] == ranked["delta_evacuation_persons_per_hour"].min() < 0
    assert (ranked["delta_disconnected_pairs"] >= 0).all()
    assert (ranked["delta_disconnected_pairs_ci_low"] == ranked["delta_disconnected_pairs"]).all()  # no interval
    cutting = ranked[ranked["expected_disconnected_pairs"] > 0]
    assert set(cutting.index) == {"jousiyeh_crossing", "arida_crossing", "dabbousieh_crossing"}
    assert cutting["rank"].max() < ranked.drop(cutting.index)["rank"].min()  # the stated criterion


def test_monte_carlo_effects_carry_confidence_intervals(demo_sweep, demo_graph):
    from routing.outputs.sweep import sweep_markdown

    result = run_sweep(dataclasses.replace(demo_sweep, draws=40), graph=demo_graph,
                       executor=SerialExecutor(progress=False))
    assert not result.expansion.exact
    t = result.asset_impact.set_index("asset")
    for key in ("disconnected_pairs", "extra_min", "evacuation_persons_per_hour"):
        low, mid, high = t[f"delta_{key}_ci_low"], t[f"delta_{key}"], t[f"delta_{key}_ci_high"]
        assert (low <= mid).all() and (mid <= high).all() and (high > low).all()
        assert (t[f"delta_{key}_nonzero"] == ((low > 0) | (high < 0))).all()
    # an asset that never cuts a pair (exactly 0) is not distinguishable from zero in the sample either
    assert not t.loc["m1_homs_tall_kalakh", "delta_disconnected_pairs_nonzero"]
    assert t.loc["jousiyeh_crossing", "delta_disconnected_pairs_nonzero"]
    md = sweep_markdown(result)
    assert "≈0" in md and "95 % confidence interval" in md and "ranked by expected OD pairs cut off" in md


def test_exact_combinations_give_monotone_impacts(tmp_path, demo_graph):
    """Failures only remove roads: with exact weights no asset's failure reconnects a pair."""
    result = run_sweep(Sweep.from_file(write_sweep(tmp_path, 'mode = "combinations"\n' + ASSETS)),
                       graph=demo_graph, executor=SerialExecutor(progress=False))
    assert (result.asset_impact["delta_disconnected_pairs"] >= 0).all()
    jousiyeh = result.asset_impact.set_index("asset").loc["jousiyeh_crossing"]
    assert jousiyeh["rank"] == 1 and jousiyeh["delta_disconnected_pairs"] > 0
    homs_baalbek = result.od_connectivity.query("origin == 'Homs' and destination == 'Baalbek'").iloc[0]
    assert homs_baalbek["p_connected"] == pytest.approx(0.75)  # cut exactly when Jousiyeh closes


@pytest.mark.parametrize("body, field", [
    ('draws = 10\nseed = 1\n[[sweep.assets]]\nasset = "rastan_bridge"\nfailure_probability = 1.5\n',
     "sweep.assets[0].failure_probability = 1.5"),
    ('draws = 10\nseed = 1\n[[sweep.assets]]\nasset = "rastan_bridge"\n', "sweep.assets[0].failure_probability"),
    ('draws = 10\nseed = 1\n[[sweep.assets]]\nasset = "no_such_asset"\nfailure_probability = 0.1\n',
     "sweep.assets[0].asset = 'no_such_asset'"),
    ('draws = 10\n[[sweep.assets]]\nasset = "rastan_bridge"\nfailure_probability = 0.1\n', "sweep.seed"),
    ('mode = "grid"\n' + ASSETS, "sweep.mode = 'grid'"),
    ('mode = "combinations"\ndraws = 5\n' + ASSETS, "sweep.draws = 5"),
    ('mode = "combinations"\nmax_failed = 3\n' + ASSETS, "sweep.max_failed = 3"),
    ('draws = 10\nseed = 1\n[[sweep.assets]]\nasset = "rastan_bridge"\nfailure_probability = 0.1\n'
     'action = "degrade"\n', "sweep.assets[0]"),
    ('draws = 10\nseed = 1\n[[sweep.assets]]\nselect = { ref = "M1" }\nfailure_probability = 0.1\n',
     "sweep.assets[0].name"),
])
def test_validation_errors_name_the_field(tmp_path, body, field):
    path = write_sweep(tmp_path, body)
    with pytest.raises(InputError) as err:  # SweepError, or CatalogueError for an unknown asset
        Sweep.from_file(path)
    assert str(path) in str(err.value) and field in str(err.value)


def test_missing_base_and_unmatched_selector(tmp_path, demo_graph, capsys):
    path = write_sweep(tmp_path, ASSETS, header="[sweep]\nmode = \"combinations\"\n")
    assert main(["-q", "sweep", str(path), "--serial"]) == 2
    assert "sweep.base" in capsys.readouterr().err
    body = 'mode = "combinations"\n[[sweep.assets]]\nname = "nowhere"\nfailure_probability = 0.1\n' \
           'select = { ref = "M99" }\n'
    with pytest.raises(Exception, match=r"sweep\.assets\[0\].*matches nothing"):
        run_sweep(Sweep.from_file(write_sweep(tmp_path, body)), graph=demo_graph,
                  executor=SerialExecutor(progress=False))


# ---------------------------------------------------------------- outputs, journal, resuming

def test_outputs_carry_the_schematic_notice(serial_result, tmp_path):
    out = write_sweep_outputs(serial_result, tmp_path / "out")
    names = {p.name for p in out.iterdir()}
    assert {"sweep_report.md", "sweep_metrics.json", "od_connectivity.csv", "asset_impact.csv"} <= names
    assert JOURNAL_NAME not in names
    report = (out / "sweep_report.md").read_text(encoding="utf-8")
    assert "SCHEMATIC" in report and "NOT OpenStreetMap data" in report
    metrics = json.loads((out / "sweep_metrics.json").read_text(encoding="utf-8"))
    assert metrics["schematic_network"] is True and "SCHEMATIC" in metrics["data_notice"]
    assert metrics["sweep"]["draws"] == 64 and metrics["sweep"]["draws_requested"] == 2000  # enumerated exactly
    assert metrics["sweep"]["exact"] is True
    assert 0 < metrics["evacuation_capacity"]["mean_persons_per_hour"] \
        <= metrics["evacuation_capacity"]["reference_persons_per_hour"]


class CountingExecutor(SerialExecutor):
    """A serial executor that counts the tasks it actually runs."""

    ran = 0

    def _batches(self, fn, shared, batches):
        self.ran += sum(len(b) for b in batches)
        yield from super()._batches(fn, shared, batches)


def test_resume_from_partial_results(demo_sweep, demo_graph, serial_result, tmp_path, caplog):
    out = tmp_path / "out"
    base, _ = sweep_mod.prepare(demo_sweep, demo_graph)
    expansion = demo_sweep.expand()
    journal = sweep_mod.open_journal(out, sweep_mod.fingerprint(demo_sweep, base, expansion))
    done = 20
    journal.append([(i, sweep_mod.evaluate_failures(base, s)) for i, s in enumerate(expansion.failure_sets[:done])])
    journal.close()
    with (out / JOURNAL_NAME).open("a", encoding="utf-8") as fh:
        fh.write('{"item": 99, "resu')  # a torn last line (writer killed mid-line) is ignored
    ex = CountingExecutor(progress=False)
    with caplog.at_level(logging.INFO, logger="routing.sweep.executors"):
        result = run_sweep(demo_sweep, graph=demo_graph, executor=ex, journal_dir=out)
    assert f"resuming: {done} finished tasks" in caplog.text
    assert ex.ran == len(expansion.failure_sets) - done
    assert_same(result, serial_result)
    write_sweep_outputs(result, out)  # the finished outputs replace the folder, journal included
    assert not (out / JOURNAL_NAME).exists()


def test_journal_with_another_fingerprint_starts_afresh(tmp_path):
    j = Journal(tmp_path / "j.jsonl", "a")
    j.append([(0, {"x": 1.5})])
    j.close()
    assert Journal(tmp_path / "j.jsonl", "a").done == {0: {"x": 1.5}}
    assert Journal(tmp_path / "j.jsonl", "b").done == {}


def test_failed_tasks_are_reported_and_completed_ones_kept(tmp_path):
    journal = Journal(tmp_path / "j.jsonl", "f")
    with pytest.raises(IncompleteRun, match=r"1 of 5 tasks failed \(items 3\).*ZeroDivisionError") as err:
        SerialExecutor(progress=False).map(_inverse_minus_three, list(range(5)), None, journal=journal)
    journal.close()
    assert err.value.results == {0: -1 / 3, 1: -0.5, 2: -1.0, 4: 1.0}
    assert Journal(tmp_path / "j.jsonl", "f").done == {0: -1 / 3, 1: -0.5, 2: -1.0, 4: 1.0}


def _inverse_minus_three(_shared, x: int) -> float:
    return 1 / (x - 3)


# ---------------------------------------------------------------- Dask

@pytest.mark.slow
def test_dask_equals_serial(demo_sweep, demo_graph, serial_result, dask_executor, tmp_path):
    assert dask_executor.n_workers == 2
    result = run_sweep(demo_sweep, graph=demo_graph, executor=dask_executor, journal_dir=tmp_path / "out")
    assert result.run["executor"] == "DaskExecutor"
    assert_same(result, serial_result)
    assert (tmp_path / "out" / JOURNAL_NAME).exists()


@pytest.mark.slow
def test_killed_worker_tasks_are_rerun(demo_sweep, demo_graph, serial_result, dask_executor, tmp_path,
                                       monkeypatch):
    monkeypatch.setattr(sweep_run, "evaluate_failures", _slow_evaluate)
    out = tmp_path / "out"
    killer = kill_one_worker(dask_executor, out / JOURNAL_NAME, after=8)
    result = run_sweep(demo_sweep, graph=demo_graph, executor=dask_executor, journal_dir=out)
    killer.join(timeout=5)
    assert killer.pids[0] not in dask_executor.client.run(os.getpid).values()
    assert_same(result, serial_result)


@pytest.mark.slow
def test_killed_worker_keeps_partial_results(demo_sweep, demo_graph, serial_result, dask_executor, tmp_path,
                                             monkeypatch, caplog):
    """With no retries allowed, the task on the killed worker fails: everything else completes,
    is journalled and reported; a second run computes only what is missing."""
    monkeypatch.setattr(sweep_run, "evaluate_failures", _slow_evaluate)
    dask_executor.client.wait_for_workers(2, timeout=60)
    scheduler = dask_executor.cluster.scheduler
    monkeypatch.setattr(scheduler, "allowed_failures", 0)
    out = tmp_path / "out"
    killer = kill_one_worker(dask_executor, out / JOURNAL_NAME, after=8)
    with pytest.raises(IncompleteRun, match="KilledWorker") as err:
        run_sweep(demo_sweep, graph=demo_graph, executor=dask_executor, journal_dir=out)
    killer.join(timeout=5)
    total = len(demo_sweep.expand().failure_sets)
    kept = err.value.results
    assert 8 <= len(kept) < total and len(kept) + len(err.value.failures) == total
    lines = (out / JOURNAL_NAME).read_text(encoding="utf-8").splitlines()
    assert {json.loads(line)["item"]: json.loads(line)["result"] for line in lines[1:]} == kept
    assert not (out / "sweep_report.md").exists()

    monkeypatch.setattr(scheduler, "allowed_failures", 3)
    dask_executor.client.wait_for_workers(2, timeout=60)
    with caplog.at_level(logging.INFO, logger="routing.sweep.executors"):
        result = run_sweep(demo_sweep, graph=demo_graph, executor=dask_executor, journal_dir=out)
    assert f"resuming: {len(kept)} finished tasks" in caplog.text
    assert_same(result, serial_result)


@pytest.mark.slow
def test_criticality_through_the_executor(demo_graph, dask_executor):
    from routing.analysis.criticality import criticality
    from routing.engine import Network

    engine = Network(demo_graph)
    nodes = list(demo_graph.nodes)[:12]
    serial = criticality(engine, nodes, progress=False)
    dask = criticality(engine, nodes, map_fn=dask_executor.map_fn, progress=False)
    pd.testing.assert_frame_equal(serial.table, dask.table, check_exact=True)


@pytest.mark.slow
def test_existing_scheduler_is_used_and_left_running(dask_executor):
    with DaskExecutor(dask_executor.cluster.scheduler_address, progress=False) as remote:
        assert remote.cluster is None and remote.n_workers == 2
        assert remote.map(_inverse_minus_three, [0, 1], None) == [-1 / 3, -0.5]
    assert dask_executor.map(_inverse_minus_three, [4], None) == [1.0]  # the cluster still runs


def test_cli_rejects_conflicting_executor_options(capsys):
    assert main(["-q", "sweep", str(SWEEP), "--serial", "--workers", "2"]) == 2
    assert "--serial" in capsys.readouterr().err


def test_cli_sweep_serial(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert main(["-q", "sweep", str(SWEEP), "--out", str(out), "--serial"]) == 0
    printed = capsys.readouterr().out
    assert "64 draws (64 distinct failure sets)" in printed and "NOT OpenStreetMap data" in printed
    assert {"sweep_report.md", "sweep_metrics.json", "od_connectivity.csv", "asset_impact.csv", "draws.csv"} \
        <= {p.name for p in out.iterdir()}
    ranked = pd.read_csv(out / "asset_impact.csv")
    assert ranked["rank"].tolist() == list(range(1, 7)) and ranked["asset"].iloc[0] == "jousiyeh_crossing"


def test_journal_lines_carry_a_checksum_and_damaged_or_foreign_lines_are_recomputed(tmp_path, caplog):
    path = tmp_path / "j.jsonl"
    journal = Journal(path, "f" * 64)
    journal.append([(0, {"x": 1.5}), (1, {"x": 2.5}), (2, {"x": 3.5}), (3, {"x": 4.5})])
    journal.close()
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert json.loads(lines[1])["config"] == "f" * 16 and len(json.loads(lines[1])["sha256"]) == 64
    edited = json.loads(lines[2])
    edited["result"]["x"] = 99.0  # a value changed by hand: the checksum no longer matches
    foreign = Journal(tmp_path / "other.jsonl", "e" * 64).record(3, {"x": 4.5})  # another sweep's line
    path.write_text(lines[0] + lines[1] + json.dumps(edited) + "\n" + "{not json\n" + lines[3]
                    + json.dumps(foreign) + "\n" + '{"item": 5}\n' + lines[4][:20], encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        resumed = Journal(path, "f" * 64)
    assert resumed.done == {0: {"x": 1.5}, 2: {"x": 3.5}}
    assert "dropped 5 damaged or foreign line(s) (line 3-4, 6-8)" in caplog.text
    calls = []
    results = SerialExecutor(progress=False).map(lambda shared, i: calls.append(i) or {"x": i + 0.5},
                                                 list(range(4)), None, journal=resumed)
    resumed.close()
    assert calls == [1, 3] and results == [{"x": 1.5}, {"x": 1.5}, {"x": 3.5}, {"x": 3.5}]
    assert Journal(path, "f" * 64).done == {0: {"x": 1.5}, 1: {"x": 1.5}, 2: {"x": 3.5}, 3: {"x": 3.5}}
