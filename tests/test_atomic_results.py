"""Results folders: a crash at any step of the write leaves ``--out`` complete (old or new), a
lock keeps two runs apart, temporary folders of killed runs are cleaned by the next run."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import DEMO_SCENARIO

from routing import files
from routing.cli import main
from routing.errors import InputError

# A writer run in a child process that dies (os._exit, no cleanup, like a kill -9) at the
# CRASH_AT-th file-system step of routing.files.atomic_folder; CRASH_AT = 0 runs to the end and
# prints how many steps there were.
WRITER = textwrap.dedent("""
    import os, pathlib, shutil, sys
    import routing.files as f

    out, crash_at, version, exchange = pathlib.Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    count = 0

    def step(fn):
        def wrapped(*args, **kwargs):
            global count
            count += 1
            if count == crash_at:
                os._exit(137)
            return fn(*args, **kwargs)
        return wrapped

    for name in ("rename", "replace", "fsync", "chmod", "mkdir", "open", "close", "unlink", "rmdir"):
        setattr(os, name, step(getattr(os, name)))
    shutil.rmtree = step(shutil.rmtree)
    pathlib.Path.write_text = step(pathlib.Path.write_text)
    if exchange == "no":  # a filesystem without renameat2(RENAME_EXCHANGE): the fallback swap
        f._renameat2_exchange = lambda a, b: False
    f._renameat2_exchange = step(f._renameat2_exchange)
    with f.results_lock(out):
        with f.atomic_folder(out) as tmp:
            for i in range(3):
                (tmp / f"part{i}.txt").write_text(version * (i + 1))
    print(count)
""")


def write(out: Path, crash_at: int, version: str, exchange: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", WRITER, str(out), str(crash_at), version, exchange],
                          capture_output=True, text=True, timeout=60)


def contents(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in out.iterdir() if p.name != files.RESULTS_MARKER}


def complete(version: str) -> dict[str, str]:
    return {f"part{i}.txt": version * (i + 1) for i in range(3)}


@pytest.mark.parametrize("exchange", ["yes", "no"])
def test_a_crash_at_any_step_leaves_the_old_or_the_new_folder(tmp_path: Path, exchange: str) -> None:
    out = tmp_path / "res"
    assert write(out, 0, "A", exchange).returncode == 0
    steps = int(write(out, 0, "B", exchange).stdout)
    assert steps > 10
    seen = set()
    for crash_at in range(1, steps + 1):
        assert write(out, 0, "A", exchange).returncode == 0  # start from complete old results "A"
        done = write(out, crash_at, "B", exchange)
        assert done.returncode == 137, (crash_at, done.stderr)
        with files.results_lock(out):  # what the next run does first: clean up, restore
            state = contents(out)
            assert state in (complete("A"), complete("B")), (crash_at, state)
            seen.add(state["part0.txt"])
        assert sorted(p.name for p in tmp_path.iterdir()) == [".res.lock", "res"], crash_at  # nothing stale
    assert seen == {"A", "B"}  # crashes before the swap keep A, after it give B


def test_with_exchange_out_is_complete_at_every_instant_without_recovery(tmp_path: Path) -> None:
    out = tmp_path / "res"
    assert write(out, 0, "A", "yes").returncode == 0
    steps = int(write(out, 0, "B", "yes").stdout)
    for crash_at in range(1, steps + 1):
        assert write(out, 0, "A", "yes").returncode == 0
        assert write(out, crash_at, "B", "yes").returncode == 137
        assert contents(out) in (complete("A"), complete("B")), crash_at  # read before any cleanup


def test_second_run_on_a_locked_folder_exits_2_at_once(tmp_path: Path, capsys) -> None:
    """Two processes: a child holds the lock of --out (as a running run does); this one is refused."""
    out = tmp_path / "res"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, routing.files as f\nwith f.results_lock(sys.argv[1]):\n"
                               "    print('locked', flush=True)\n    sys.stdin.read()", str(out)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["-q", "run", str(DEMO_SCENARIO), "--out", str(out), "--no-maps"]) == 2
        err = capsys.readouterr().err
        assert "another corridor-routing run is writing this results folder" in err and "Traceback" not in err
        assert not out.exists()
    finally:
        holder.communicate("", timeout=30)
    assert main(["-q", "run", str(DEMO_SCENARIO), "--out", str(out), "--no-maps"]) == 0  # released on exit


def test_two_concurrent_runs_on_one_folder(tmp_path: Path) -> None:
    out = tmp_path / "res"
    cmd = [sys.executable, "-m", "routing.cli", "-q", "run", str(DEMO_SCENARIO), "--out", str(out), "--no-maps"]
    runs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results  # one after the other, or the second refused
    for code, err in results:
        assert "Traceback" not in err and (code == 0 or "another corridor-routing run" in err)
    assert (out / "report.md").exists() and sorted(p.name for p in tmp_path.iterdir()) == [".res.lock", "res"]


def test_stale_temporary_folders_of_killed_runs_are_removed(tmp_path: Path) -> None:
    out = tmp_path / "res"
    for stale in (".res.abc123.part", ".res.999.old"):
        (tmp_path / stale).mkdir()
        (tmp_path / stale / "half.txt").write_text("x")
    (tmp_path / ".other.abc.part").mkdir()  # another folder's: not ours to touch
    with files.atomic_folder(out) as tmp:
        (tmp / "a.txt").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".other.abc.part", ".res.lock", "res"]


@pytest.mark.parametrize("make, message", [
    (lambda d: (d / "file").write_text("x") and d / "file" / "out", "is a file"),
    (lambda d: d / "notes.txt" if (d / "notes.txt").write_text("x") else None, "exists and is not a folder"),
    (lambda d: Path("."), "is the working folder or one above it"),
    (lambda d: Path(".."), "is the working folder or one above it"),
])
def test_output_paths_are_checked_before_any_work(tmp_path, monkeypatch, capsys, make, message) -> None:
    monkeypatch.chdir(tmp_path)
    out = make(tmp_path)
    from routing.scenario import Scenario

    monkeypatch.setattr(Scenario, "load_network", lambda self: pytest.fail("computed before checking --out"))
    for argv in (["run", str(DEMO_SCENARIO)], ["criticality", str(DEMO_SCENARIO), "--serial"],
                 ["sweep", "sweep-western-syria", "--serial"]):
        assert main(["-q", *argv, "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err and err.count("\n") == 1, err


def test_check_results_folder_refuses_unwritable_parent(tmp_path, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "TemporaryFile", refuse)  # as root, chmod alone does not refuse
    with pytest.raises(InputError, match=r"res: cannot write in .*: Permission denied"):
        files.check_results_folder(tmp_path / "res")
