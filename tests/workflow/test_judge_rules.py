"""Rules score_gedit and score_dpg run by Snakemake on the paper config, in a temporary working directory
that holds pre-made generation folders and checkouts (stand-in prompt texts and questions), against the
stand-in judge on 127.0.0.1 and without a judge."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "eval"))
from stand_in_judge import serve  # noqa: E402
from test_judges import dpg_folder, gedit_folder  # noqa: E402
from test_workflow import REPO, snakemake  # noqa: E402

from sgt.eval.judge.items import NO_ENDPOINT  # noqa: E402

TARGETS = ("results/eval/bagel/sft/gedit/seed0.csv", "results/eval/bagel/sft/dpg/seed0.csv")


def workdir(tmp_path: Path, judge: dict) -> tuple[Path, Path]:
    """Generation folders for bagel/sft/seed0, the two checkouts the rules read, and a config overlay."""
    run = tmp_path / "run"
    gen = run / "results" / "generation" / "bagel" / "sft" / "seed0"
    gen.mkdir(parents=True)
    folder, prompts = gedit_folder(tmp_path)
    folder.rename(gen / "gedit")
    dfolder, csv = dpg_folder(tmp_path)
    dfolder.rename(gen / "dpg")
    vie = run / "results" / "upstream" / "step1x_edit" / "GEdit-Bench" / "viescore"
    vie.mkdir(parents=True)
    prompts.rename(vie / "vie_prompts.py")
    ella = run / "results" / "upstream" / "ella" / "dpg_bench"
    ella.mkdir(parents=True)
    csv.rename(ella / "dpg_bench.csv")
    overlay = tmp_path / "judge.yaml"
    overlay.write_text(yaml.safe_dump({"eval": {"judge": judge}}))
    return run, overlay


def run_rules(run: Path, overlay: Path):
    # only the scoring rules: the pre-made generation folders stand for generate_gedit/generate_dpg's output
    return snakemake(
        *TARGETS, "--cores", "1", "-d", str(run), "--allowed-rules", "score_gedit", "score_dpg",
        "--configfile", str(REPO / "config" / "paper.yaml"), str(overlay), timeout=600,
    )  # fmt: skip


def test_rules_score_at_the_stand_in_judge_and_keep_the_key_out(tmp_path, monkeypatch):
    monkeypatch.setenv("SGT_TEST_JUDGE_KEY", "sk-stand-in-secret")
    with serve() as judge:
        cfg = {"base_url": judge.url, "model": "stand-in", "api_key_env": "SGT_TEST_JUDGE_KEY", "retries": 0}
        run, overlay = workdir(tmp_path, cfg)
        result = run_rules(run, overlay)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert set(judge.auth) == {"Bearer sk-stand-in-secret"}
    gedit, dpg = (pd.read_csv(run / t) for t in TARGETS)
    top = gedit[gedit["headline"]].iloc[0]
    assert top["benchmark"] == "GEdit-Bench-En" and top["value"] == (
        round(((math.sqrt(54) + 6) / 2 + math.sqrt(72)) / 2, 4)
    )
    assert dpg[dpg["headline"]].iloc[0]["value"] == 75.0
    written = [p.read_text(errors="replace") for p in run.rglob("*") if p.is_file() and p.suffix != ".png"]
    assert not any("sk-stand-in" in text for text in written)
    assert (run / "results/work/judges/bagel/sft/gedit/seed0.jsonl").is_file()  # the rerun cache


def test_rules_without_a_judge_write_nan_rows_and_say_so(tmp_path):
    run, overlay = workdir(tmp_path, {"base_url": None})
    result = run_rules(run, overlay)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for target, bench in zip(TARGETS, ("GEdit-Bench-EN", "DPG-Bench"), strict=True):
        (row,) = pd.read_csv(run / target).to_dict("records")
        assert math.isnan(row["value"]) and row["note"] == NO_ENDPOINT
        log = (run / "results" / "logs" / "eval" / target.split("/")[4] / "bagel/sft/seed0.log").read_text()
        assert f"{bench} of" in log and "not scored: no judge endpoint (set eval.judge)" in log
