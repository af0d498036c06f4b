"""`routing compare A B`: two results folders side by side."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pandas as pd
import pytest
from conftest import DEMO_SCENARIO

from routing import Scenario, run_scenario, write_outputs
from routing.cli import main
from routing.errors import InputError
from routing.outputs.compare import compare_results


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Results folders: the demo scenario (A) and the same as of 5 December, before any event (B)."""
    root = tmp_path_factory.mktemp("compare")
    scenario = Scenario.from_file(DEMO_SCENARIO)
    full = run_scenario(scenario)
    write_outputs(full, root / "dec6", maps=False)
    write_outputs(run_scenario(dataclasses.replace(scenario, as_of=dt.date(2024, 12, 5)), graph=full.graph),
                  root / "dec5", maps=False)
    return root / "dec6", root / "dec5", full


def test_od_pairs_side_by_side(runs):
    a, b, full = runs
    c = compare_results(a, b)
    assert c.labels == ("dec6", "dec5") and len(c.od) == len(full.od) == 90
    changed = full.od[full.od["status"] != "unchanged"]
    assert len(c.od_differences) == len(changed)
    r = c.od.set_index(["origin", "destination"]).loc[("Hama", "Homs")]
    assert (r.status_a, r.status_b) == ("rerouted", "unchanged")
    assert r.delta_min < 0 and r.damaged_min_b == pytest.approx(r.baseline_min_a)
    cut = c.od[c.od["status_a"] == "cut off"]
    assert len(cut) and cut["damaged_min_a"].isna().all() and cut["delta_min"].isna().all()


def test_summary_events_and_evacuation(runs):
    a, b, _ = runs
    c = compare_results(a, b)
    assert c.summary.loc["edges removed"].tolist() == [10, 0]
    assert c.summary.loc["OD pairs unchanged", "dec5"] == 90
    assert c.summary.loc["as of"].tolist() == ["—", "2024-12-05"]
    assert len(c.events) == 3 and set(c.events["applied_a"]) == {"yes"}
    assert set(c.events["applied_b"]) == {"no (after as_of)"}
    ev = c.evacuation.set_index("destination")
    assert pd.isna(ev.loc["Arida crossing", "damaged_min_a"])  # cut off after the damage
    assert ev.loc["Tartus", "delta_min"] == pytest.approx(0, abs=0.05)


def test_markdown_and_html(runs):
    a, b, _ = runs
    c = compare_results(a, b)
    md = c.to_markdown()
    differ = len(c.od_differences)
    assert 0 < differ < 90
    for heading in ("# Comparison: dec6 vs dec5", "## Summary", "## Events",
                    f"## OD pairs that differ ({differ} of 90)", "## Evacuation destinations"):
        assert heading in md
    assert "⚠ dec6:** SCHEMATIC NETWORK" in md
    assert "| Hama | Homs |" in md and "min after (dec6)" in md
    assert f"{differ} of 90 OD pairs differ" in c._repr_html_()


def test_same_run_has_no_differences_and_distinct_labels(runs, tmp_path):
    a, _, _ = runs
    other = tmp_path / a.name
    other.mkdir()
    (other / "metrics.json").write_bytes((a / "metrics.json").read_bytes())
    c = compare_results(a, other)
    assert c.labels == ("A: dec6", "B: dec6") and c.od_differences.empty
    assert "## OD pairs that differ (0 of 90)" in c.to_markdown()


def test_cli_prints_or_writes(runs, tmp_path, capsys):
    a, b, _ = runs
    assert main(["compare", str(a), str(b)]) == 0
    assert "# Comparison: dec6 vs dec5" in capsys.readouterr().out
    out = tmp_path / "cmp" / "dec6-vs-dec5.md"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0
    differ = len(compare_results(a, b).od_differences)
    assert f"{differ} of 90 OD pairs differ" in capsys.readouterr().out
    marker, heading = out.read_text(encoding="utf-8").splitlines()[:2]
    assert marker == "<!-- written by corridor-routing compare -->" and heading == "# Comparison: dec6 vs dec5"
    assert main(["compare", str(a), str(b), "--out", str(out)]) == 0  # its own file: replaced
    capsys.readouterr()


def test_cli_refuses_to_overwrite_a_file_it_did_not_write(runs, tmp_path, capsys):
    a, b, _ = runs
    notes = tmp_path / "notes.md"
    notes.write_text("# my notes\n", encoding="utf-8")
    assert main(["compare", str(a), str(b), "--out", str(notes)]) == 2
    err = capsys.readouterr().err
    assert f"{notes}: file exists and was not written by corridor-routing" in err and "Traceback" not in err
    assert notes.read_text(encoding="utf-8") == "# my notes\n"
    assert main(["compare", str(a), str(b), "--out", str(tmp_path)]) == 2
    assert "exists and is not a regular file" in capsys.readouterr().err


def test_errors_name_the_folder_or_file(runs, tmp_path, capsys):
    a, _, _ = runs
    missing = tmp_path / "nope"
    assert main(["compare", str(a), str(missing)]) == 2
    assert f"{missing}: results folder not found" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match=f"{empty}: no metrics.json here"):
        compare_results(a, empty)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "metrics.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="broken/metrics.json: not valid JSON"):
        compare_results(broken, a)
    (broken / "metrics.json").write_text(json.dumps({"scenario": {}}), encoding="utf-8")
    with pytest.raises(InputError, match="missing summary, events, od"):
        compare_results(a, broken / "metrics.json")
