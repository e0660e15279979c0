"""The CPU rehearsal of the paper DAG (config/rehearsal.yaml over config/paper.yaml), in a copy of the
repository, against the stand-ins of tests/workflow/rehearsal_site.py; then ``snakemake --report``.

It proves the wiring of every paper artefact: every rule the paper config plans runs, and the report has
Tables 3, 6, 7 and 9 with the paper's rows and columns for both models beside the paper's numbers, and
Figs. 3a, 3b, 5a, 5b, 6, 7, 8a and 8b. Its numbers are rehearsal numbers (stand-ins), never scores.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from rehearsal_site import rehearsal_site
from repo_clone import REPO, clone_repo

PAPER_TABLES = ("table3", "table6", "table7", "table9")
MODELS = ("bagel", "omnigen2")
FIGURES = ("fig3a", "fig3b", "fig5a", "fig5b", "fig6")
ANALYSIS_FIGURES = ("fig7_tsne", "fig8a_visual_attention", "fig8b_prompt_attention")


def _snakemake(clone: Path, env: dict[str, str], overlay: Path, *args: str, timeout: int = 1800):
    configs = ["config/paper.yaml", "config/rehearsal.yaml", str(overlay)]
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", *configs, *args],
        cwd=clone,
        env={**env, "PYTHONPATH": str(clone / "src")},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# paper columns no run here can fill, each named with its reason under the table (Markdown view)
UNFILLABLE = {"SIBench": "not in VLMEvalKit", "MathVista": "needs judge endpoint"}


def assert_paper_table(table: str, results: Path, paper_model: dict[str, str]) -> None:
    """Each model's rows of ``table`` hold every row and column of the paper's table for its paper model,
    with the paper's number beside ours (config/paper_reference/<table>.csv); a column no run here can fill
    is named under the table with its reason."""
    got = pd.read_csv(results / "tables" / f"{table}.csv")
    md = (results / "tables" / f"{table}.md").read_text()
    ref = pd.read_csv(REPO / "config" / "paper_reference" / f"{table}.csv")
    columns = [c for c in ref.columns if c not in ("model", "row", "paper_label")]
    for model in MODELS:
        assert len(got[got["model"] == model]), f"{table}: no rows for {model}"
    for model, name in paper_model.items():
        ours = got[got["model"] == model]
        for _, row in ref[ref["model"] == name].iterrows():
            rows = ours[ours["paper_row"] == row["row"]]
            assert len(rows), f"{table}: {model} lacks the paper's row {row['row']!r}"
            for column in columns:
                cell = rows[rows["paper_column"] == column]
                if column in UNFILLABLE and cell.empty:
                    assert f"**{column}**" in md and UNFILLABLE[column] in md, (table, column)
                    continue
                assert len(cell) == 1, f"{table}: {model} / {row['row']} lacks the paper's column {column!r}"
                assert not pd.isna(cell["mean"].iloc[0]), (
                    f"{table}: {model} / {row['row']} / {column}: no value"
                )
                if not pd.isna(row[column]):
                    assert cell["paper_value"].iloc[0] == pytest.approx(float(row[column])), (table, model)


# the variants each figure plots (config/paper.yaml + config/rehearsal.yaml); Figs. 3a/3b: a table's rows
FIGURE_ROWS = {"fig3a": "table6", "fig3b": "table7"}
FIGURE_VARIANTS = {
    "fig5a": {"sft", "sgt_ratio_2_3", "sft_sgt"},
    "fig5b": {"sft_sgt", "sgt_pairs_4"},
    "fig6": {"sft", "sft_sgt"},
}


def assert_figure_data(fig: str, results: Path) -> None:
    """The numbers a figure plots (results/figures/<fig>.csv): both models (Fig. 6: BAGEL, as the paper),
    the variants it should show, and for Figs. 3a/3b the paper's number beside each of the paper's rows."""
    data = pd.read_csv(results / "figures" / f"{fig}.csv")
    if fig == "fig6":
        assert set(data["variant"]) == FIGURE_VARIANTS[fig] and {"step", "run"} <= set(data.columns), fig
        return
    assert set(data["model"]) == set(MODELS), fig
    for model in MODELS:
        drawn = set(data[data["model"] == model]["variant"])
        if fig in FIGURE_ROWS:
            table = pd.read_csv(results / "tables" / f"{FIGURE_ROWS[fig]}.csv")
            rows = set(table[(table["model"] == model) & (table["variant"] != "base")]["variant"])
            assert drawn == rows, (fig, model, drawn ^ rows)
            paper_rows = data[(data["model"] == model) & data["paper_row"].notna()]
            assert paper_rows["paper_value"].notna().any(), (fig, model)
        else:
            assert drawn == FIGURE_VARIANTS[fig], (fig, model, drawn)


@pytest.mark.slow(minutes=7)
@pytest.mark.timeout(2400)  # 6.5 min alone on 2 cores; 15 min in `make test` beside the demo (two workers)
def test_the_paper_dag_runs_end_to_end_on_stand_ins_and_reports_every_table_and_figure(tmp_path):
    clone = clone_repo(tmp_path / "sgt-pipeline")
    with rehearsal_site(tmp_path / "site") as site:
        start = time.monotonic()
        run = _snakemake(clone, site.env, site.overlay, "--cores", "2")
        elapsed = time.monotonic() - start
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-6000:]
        report = _snakemake(clone, site.env, site.overlay, "--report", "results/report.html")
        assert report.returncode == 0, report.stdout[-3000:] + report.stderr[-3000:]
    print(f"rehearsal: {elapsed:.0f} s for the DAG on 2 cores")
    results = clone / "results"
    # every paper table: the paper's rows and columns for both models, the paper's number beside each
    for table in PAPER_TABLES:
        assert_paper_table(table, results, {"bagel": "BAGEL", "omnigen2": "OmniGen2"})
    for fig in FIGURES:
        for ext in ("png", "pdf"):
            assert (results / "figures" / f"{fig}.{ext}").stat().st_size > 0, fig
        assert_figure_data(fig, results)
    for model in MODELS:
        for fig in ANALYSIS_FIGURES:
            assert (results / "figures" / model / f"{fig}.png").stat().st_size > 0, (model, fig)
    html = (clone / "results" / "report.html").read_text(errors="replace")
    assert "rehearsal" in html
    config_used = yaml.safe_load((results / "report" / "config.yaml").read_text())
    assert config_used["run_name"].startswith("rehearsal")
