from __future__ import annotations

from pathlib import Path

import pytest

from sgt.cli import main


def test_toyworld_command_writes_coco_layout(tmp_path: Path) -> None:
    out = tmp_path / "tw"
    assert main(["toyworld", "--out", str(out), "--n-train", "3", "--n-val", "2", "--seed", "1"]) == 0
    assert len(list((out / "train2017").glob("*.jpg"))) == 3
    assert len(list((out / "val2017").glob("*.jpg"))) == 2
    for name in ("instances", "panoptic", "captions"):
        assert (out / "annotations" / f"{name}_train2017.json").is_file()
    assert len(list((out / "annotations" / "panoptic_val2017").glob("*.png"))) == 2
    assert len(list((out / "depth" / "train2017").glob("*.png"))) == 3


def test_results_command_prints_where_a_run_put_its_report_tables_and_findings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["results", "--root", str(tmp_path)]) == 2  # nothing run yet: says what to do
    err = capsys.readouterr().err
    assert "results/report.html" in err and "snakemake --report" in err, err
    for name in ("report.html", "tables/table3.md", "tables/understanding.md", "report/findings.md"):
        (tmp_path / "results" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "results" / name).write_text("x")
    assert main(["results", "--root", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = [Path(line.split()[-1]) for line in lines]
    assert [p.relative_to(tmp_path).as_posix() for p in printed] == [
        "results/report.html",
        "results/tables/table3.md",
        "results/tables/understanding.md",
        "results/report/findings.md",
    ]
    assert (
        lines[0].startswith("report:") and lines[1].startswith("tables:") and lines[3].startswith("findings:")
    )
