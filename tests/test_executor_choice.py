"""Which executor runs the tasks without --serial/--workers/--scheduler, and the ``routing``
command's fast exit: exit codes and complete outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pandas as pd
import pytest
from conftest import DEMO_SCENARIO

from routing import cli
from routing.cli import main
from routing.sweep import executors
from routing.sweep.executors import AutoExecutor, DaskExecutor, SerialExecutor


def _square(shared: int, item: int) -> int:
    return shared * item * item


class FakeDask(SerialExecutor):
    """Stands in for a DaskExecutor: counts the tasks it runs."""

    def __init__(self) -> None:
        super().__init__(progress=False)
        self.ran = 0

    def _batches(self, fn, shared, batches):
        for done in super()._batches(fn, shared, batches):
            self.ran += len(done)
            yield done


def test_auto_stays_serial_below_the_threshold() -> None:
    chosen: list[str] = []
    with AutoExecutor(lambda: pytest.fail("Dask started"), threshold_s=3600, sample_s=0, progress=False,
                      on_choice=chosen.append) as ex:
        assert ex.map(_square, list(range(10)), 2) == [2 * i * i for i in range(10)]
    assert ex.choice == "serial" and len(chosen) == 1 and chosen[0].startswith("serial: the 9 remaining tasks")


def test_auto_picks_dask_above_the_threshold(monkeypatch) -> None:
    monkeypatch.setattr(executors, "DASK_MIN_SERIAL_S", 0.0)
    monkeypatch.setattr(executors, "DASK_SAMPLE_S", 0.0)
    fake = FakeDask()
    with AutoExecutor(lambda: fake, progress=False) as ex:
        assert ex.map(_square, list(range(10)), 3) == [3 * i * i for i in range(10)]
        assert ex.choice == "dask" and fake.ran == 9  # the first task was the sample
        assert ex.map(_square, [4], 1) == [16] and fake.ran == 10  # later maps stay on Dask


def test_default_runs_the_demo_serially(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(DaskExecutor, "__init__", lambda *a, **k: pytest.fail("Dask started for the demo"))
    assert main(["-q", "criticality", str(DEMO_SCENARIO), "--out", str(tmp_path / "crit")]) == 0
    assert main(["-q", "sweep", "sweep-western-syria", "--out", str(tmp_path / "sweep")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("executor:")]
    assert len(lines) == 2 and all(line.startswith("executor: serial: ") for line in lines), lines


def test_default_sweep_switches_to_dask_above_the_threshold(tmp_path, monkeypatch, capsys) -> None:
    assert main(["-q", "sweep", "sweep-western-syria", "--serial", "--out", str(tmp_path / "serial")]) == 0
    monkeypatch.setattr(executors, "DASK_MIN_SERIAL_S", 0.0)
    monkeypatch.setattr(executors, "DASK_SAMPLE_S", 0.0)
    fakes: list[FakeDask] = []
    monkeypatch.setattr(cli, "_dask_executor", lambda args: fakes.append(FakeDask()) or fakes[-1])
    assert main(["-q", "sweep", "sweep-western-syria", "--out", str(tmp_path / "auto")]) == 0
    out = capsys.readouterr().out
    assert "executor: serial (--serial)" in out and "executor: Dask: the " in out
    assert len(fakes) == 1 and fakes[0].ran > 0
    for name in ("asset_impact.csv", "od_connectivity.csv", "draws.csv"):
        pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "auto" / name), pd.read_csv(tmp_path / "serial" / name))


def test_default_criticality_stays_serial_whatever_the_work(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(executors, "DASK_MIN_SERIAL_S", 0.0)
    monkeypatch.setattr(executors, "DASK_SAMPLE_S", 0.0)
    monkeypatch.setattr(cli, "_dask_executor", lambda args: pytest.fail("Dask started for criticality"))
    assert main(["-q", "criticality", str(DEMO_SCENARIO), "--out", str(tmp_path / "crit")]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("executor:")]
    assert lines == [f"executor: serial: {cli.SEARCHES_USE_EVERY_CORE}"]
    with pytest.raises(SystemExit):
        main(["criticality", "--help"])
    assert "--workers N or --scheduler" in " ".join(capsys.readouterr().out.split())


def test_explicit_flags_name_the_executor(capsys) -> None:
    args = cli.build_parser().parse_args(["sweep", "x.toml", "--serial"])
    assert isinstance(cli.make_executor(args), SerialExecutor)
    assert capsys.readouterr().out == "executor: serial (--serial)\n"


def test_console_script_is_the_fast_exit() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "routing"]
    assert script.value == "routing.cli:console"


def _console(*argv: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from routing.cli import console; console()", *argv],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_fast_exit_writes_complete_outputs_and_exit_codes(tmp_path) -> None:
    assert main(["-q", "run", str(DEMO_SCENARIO), "--no-maps", "--out", str(tmp_path / "ref")]) == 0
    done = _console("run", str(DEMO_SCENARIO), "--no-maps", "--out", str(tmp_path / "res"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.rstrip().splitlines()[-1].startswith("report: ")  # piped stdout flushed before exit
    assert "INFO writing" in done.stderr  # and the log
    ref, res = tmp_path / "ref", tmp_path / "res"
    assert sorted(p.name for p in res.iterdir()) == sorted(p.name for p in ref.iterdir())
    for name in ("od.csv", "report.md"):
        assert (res / name).read_bytes() == (ref / name).read_bytes(), name
    assert json.loads((res / "metrics.json").read_text())["od"] == json.loads((ref / "metrics.json").read_text())["od"]
    bad = _console("run", str(tmp_path / "missing.toml"), cwd=tmp_path)
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and bad.stdout == ""
    usage = _console("run", "--no-such-option", cwd=tmp_path)
    assert usage.returncode == 2 and "error: routing" in usage.stderr
