"""`sgt budget`: the jobs of Snakemake's own plan, training hours at the paper's pace, the rest at their
requested limits, and measured hours where a job ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.budget import Budget, PlannedJob, budget_table, job_estimate, largest_job, parse_dry_run, to_markdown

DRY_RUN = """Building DAG of jobs...
[Mon Dec  7 10:28:58 2026]
rule train:
    input: results/export/bagel/sft/seed0
    output: results/models/bagel/sft/seed0
    log: results/logs/train/bagel/sft/seed0.log
    jobid: 234
    benchmark: results/benchmarks/train/bagel/sft/seed0.tsv
    reason: Forced execution
    wildcards: model=bagel, variant=sft, seed=0
    resources: tmpdir=/tmp, runtime=1440, gpu=8, mem_mb=256000, mem=256 GB, mem_mib=244141
[Mon Dec  7 10:28:58 2026]
localrule tables:
    input: results/eval/bagel/sft/seed0.csv
    output: results/tables/understanding.csv
    jobid: 3
    threads: 2
    resources: tmpdir=/tmp, runtime=30, gpu=0
Job stats:
job      count
"""
CONFIG = {
    "models": {"bagel": {"backend": "bagel", "recipe": {"steps": 10000}}},
    "budget": {"pace": {"bagel": {"hours": 18, "steps": 10000, "gpus": 8}}},
}


def test_dry_run_blocks_become_jobs() -> None:
    train, tables = parse_dry_run(DRY_RUN)
    assert train.rule == "train" and train.wildcards == {"model": "bagel", "variant": "sft", "seed": "0"}
    assert train.gpus == 8 and train.limit_hours == 24 and train.benchmark.endswith("seed0.tsv")
    assert tables.rule == "tables" and tables.threads == 2 and tables.gpus == 0 and tables.limit_hours == 0.5


def test_training_hours_follow_the_pace_steps_and_gpus() -> None:
    job = PlannedJob("train", {"model": "bagel"}, {"gpu": "8", "runtime": "1440"})
    assert job_estimate(job, CONFIG).hours == 18 and job_estimate(job, CONFIG).source == "pace"
    longer = {**CONFIG, "models": {"bagel": {"backend": "bagel", "recipe": {"steps": 20000}}}}
    assert job_estimate(job, longer).hours == 36
    wider = PlannedJob("train", {"model": "bagel"}, {"gpu": "16", "runtime": "1440"})
    assert job_estimate(wider, CONFIG).hours == 9  # same GPU-hours
    other = PlannedJob("vlmeval", {"model": "bagel"}, {"gpu": "1", "runtime": "480"})
    assert job_estimate(other, CONFIG).hours == 8 and job_estimate(other, CONFIG).source == "limit"


def test_table_counts_done_jobs_and_measured_hours(tmp_path: Path) -> None:
    planned = parse_dry_run(DRY_RUN)
    bench = tmp_path / "results/benchmarks/train/bagel/sft/seed0.tsv"
    bench.parent.mkdir(parents=True)
    bench.write_text("s\th:m:s\tmax_rss\tcpu_time\n7200.0\t2:00:00\t1\t3600.0\n")
    rows = {r["rule"]: r for r in budget_table(planned, planned[1:], CONFIG, tmp_path)}
    assert rows["train"]["done"] == 1 and rows["tables"]["done"] == 0
    assert rows["train"]["gpu_hours"] == 144 and rows["train"]["measured_job_hours"] == pytest.approx(2.0)
    assert rows["train"]["measured_cpu_hours"] == pytest.approx(1.0) and rows["tables"]["cpu_hours"] == 1.0
    text = to_markdown(list(rows.values()), largest_job(planned, CONFIG), limit_h=12)
    assert "**144.0**" in text and "EXCEEDS the partition's 12 h limit" in text


def test_html_page_holds_the_table_and_its_notes(tmp_path: Path) -> None:
    planned = parse_dry_run(DRY_RUN)
    rows = budget_table(planned, planned, CONFIG, tmp_path)
    page = Budget(rows, largest_job(planned, CONFIG), None).html("Budget of this run")
    assert "<h2>Budget of this run</h2>" in page and "<th>measured_cpu_hours</th>" in page
    assert page.count("<tr>") == 3 and "Largest job: train" in page  # a row per rule, the total
    assert "<td>total</td>" in page and "<td>18.5</td>" in page  # job-hours: train 18 + tables 0.5
    assert "None" not in page and "<td></td>" in page  # nothing ran: the measured cells are empty
