"""study.variants.<v>.seeds (issue #23): the DAG plans each variant's runs with its own seeds, in the demo
(Base, SFT and SFT+Semantic three, the rest one) and in the paper study's cluster rules."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def dry_run(tmp_path: Path, *configs: str | Path) -> str:
    """``snakemake -n`` of the repository's Snakefile over ``configs`` in an empty directory."""
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "-n", "--cores", "1"]
    result = subprocess.run(
        [*cmd, "-d", str(tmp_path / "run"), "--configfile", *map(str, configs)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def planned(output: str) -> list[tuple[str, str, str, int]]:
    """(rule, model, variant, seed) of every planned job that has those wildcards (the dry run lists each job
    once; GenEval's generation jobs are one per generation seed too)."""
    jobs = re.findall(r"^rule (\w+):\n(?:(?!^rule ).*\n)*?\s+wildcards: (.*)$", output, flags=re.M)
    out = []
    for rule, text in jobs:
        w = dict(part.split("=", 1) for part in text.split(", "))
        if {"model", "variant", "seed"} <= set(w):
            out.append((rule, w["model"], w["variant"], int(w["seed"])))
    return out


def seeds_of(jobs: list[tuple[str, str, str, int]], rule: str) -> dict[str, list[int]]:
    """Per variant, the seed of each job ``rule`` runs for it, over every model (sorted)."""
    out: dict[str, list[int]] = {}
    for r, _, variant, seed in jobs:
        if r == rule:
            out.setdefault(variant, []).append(seed)
    return {v: sorted(s) for v, s in out.items()}


def drawn_by_evaluate(output: str) -> set[tuple[str, int]]:
    """(variant, seed) of each ``evaluate`` job that lists the tiny model's GenEval scores as an output."""
    jobs = re.findall(r"^rule evaluate:\n(?:(?!^rule ).*\n)*?\s+output: (.*)$", output, flags=re.M)
    found = (re.search(r"results/eval/tiny/(\w+)/geneval/seed(\d+)\.csv", text) for text in jobs)
    return {(m.group(1), int(m.group(2))) for m in found if m}


def total(output: str) -> int:
    return int(re.search(r"^total\s+(\d+)$", output, flags=re.M).group(1))


def test_the_demo_plans_three_seeds_for_sft_and_sft_semantic_one_for_the_rest(tmp_path: Path) -> None:
    out = dry_run(tmp_path, REPO / "config" / "config.yaml")
    jobs = planned(out)
    three, one = [0, 1, 2], [0]
    assert seeds_of(jobs, "train") == {
        "sft": three,
        "sft_semantic": three,
        "sft_edge": one,
        "sft_reconstruction": one,
        "sft_semantic_1to1": one,
        "sft_semantic_120": one,
    }
    evaluated = {"base": one, "untrained": one, **seeds_of(jobs, "train")}
    assert seeds_of(jobs, "evaluate") == evaluated
    # each evaluation job also draws and scores GenEval (eval.geneval.enabled): its outputs, one job per run
    assert drawn_by_evaluate(out) == {(v, s) for v, seeds in evaluated.items() for s in seeds}
    # Base is one checkpoint (the shipped model): its three seeds are evaluations of it, no fine-tune
    assert "base" not in seeds_of(jobs, "train") and "results/models/tiny/base/seed" not in out
    assert seeds_of(jobs, "analyse") == {"base": one, "sft_semantic": three}  # analysis.compare
    # Fig. 6 reads every seed's training log of SFT and SFT+Semantic
    fig6 = re.search(r"^rule figure:\n(?:(?!^rule ).*\n)*?\s+wildcards: fig=fig6$", out, flags=re.M).group(0)
    for variant in ("sft", "sft_semantic"):
        assert all(f"results/models/tiny/{variant}/seed{s}" in fig6 for s in three), fig6
    # the one-seed demo had 80 jobs: 4 more fine-tunes, 4 more evaluations and GenEval runs, 2 more analyses,
    # the training-budget table, and the run's budget page (report.budget); then GenEval moved into the
    # evaluation jobs, 12 fewer
    assert total(out) == 84


def test_without_geneval_the_evaluation_jobs_write_only_their_scores(tmp_path: Path) -> None:
    """eval.geneval.enabled false: no GenEval outputs, prompts or rows; the same evaluation jobs."""
    overlay = tmp_path / "no_geneval.yaml"
    overlay.write_text(yaml.safe_dump({"eval": {"geneval": {"enabled": False}}}))
    out = dry_run(tmp_path, REPO / "config" / "config.yaml", overlay)
    assert drawn_by_evaluate(out) == set(), out[-3000:]
    assert "geneval_prompts" not in out and "/geneval/" not in out, out[-3000:]
    evaluations = seeds_of(planned(out), "evaluate")
    assert sum(map(len, evaluations.values())) == 12, evaluations
    assert total(out) == 84 - 1  # the demo's plan less the prompts job


def test_the_paper_plan_follows_a_variant_s_seeds_in_every_cluster_rule(tmp_path: Path) -> None:
    """config/paper.yaml with sft_sgt on three seeds and the released base on two: training, VLMEvalKit,
    GenEval (generation and scoring), GEdit, DPG and the analyses each plan those seeds, one for the rest."""
    overlay = tmp_path / "seeds.yaml"
    seeds = {"sft_sgt": {"seeds": [0, 1, 2]}, "base": {"seeds": [0, 1]}}
    overlay.write_text(yaml.safe_dump({"study": {"variants": seeds}}))
    jobs = planned(dry_run(tmp_path, REPO / "config" / "paper.yaml", overlay))
    per_model = {"train": 2, "vlmeval": 2, "score_geneval": 2, "generate_gedit": 2, "generate_dpg": 1}
    for rule, models in per_model.items():
        seeds = seeds_of(jobs, rule)
        assert seeds["sft_sgt"] == sorted([0, 1, 2] * models), (rule, seeds)
        assert seeds["sft"] == [0] * models, (rule, seeds)
        if rule != "train":  # the released model is evaluated, never trained
            assert seeds["base"] == sorted([0, 1] * models), (rule, seeds)
    # twelve generation seeds per GenEval run: one image folder each
    gen = seeds_of(jobs, "generate_geneval")
    assert gen["sft_sgt"] == sorted([0, 1, 2] * 2 * 12) and gen["sft"] == [0] * 2 * 12
    analysed = seeds_of(jobs, "analyse_cluster")
    assert set(analysed["sft_sgt"]) == {0, 1, 2} and set(analysed["base"]) == {0, 1}, analysed
