"""The planned study's cost before anything runs: GPU-hours and job-hours per rule and model, from the DAG.

Why: a cluster allocation is asked for before the run. The jobs come from Snakemake's own plan (its dry run
with ``--forceall`` lists every job with its resources; the plain dry run lists those still to do), so the
budget counts exactly what ``snakemake --profile slurm`` would submit. A training job's hours come from its
backend's pace (``budget.pace.<backend>``: hours per ``steps`` on ``gpus`` GPUs, seeded from the paper's
Sec. 7.3) scaled to the model's ``recipe.steps`` and GPUs; every other job's hours are its requested time
limit (``resources.<stage>.runtime``), an upper bound. Where a job already ran, its Snakemake benchmark file
gives the measured hours beside the estimate.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

JOB_HEAD = re.compile(r"^(?:local)?rule (\w+):$")


@dataclass(frozen=True)
class PlannedJob:
    """One job of a dry run: its rule, wildcards, resources and benchmark file."""

    rule: str
    wildcards: dict[str, str] = field(default_factory=dict)
    resources: dict[str, str] = field(default_factory=dict)
    threads: int = 1
    benchmark: str | None = None

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.rule, tuple(sorted(self.wildcards.items()))

    @property
    def gpus(self) -> int:
        return int(float(self.resources.get("gpu", 0) or 0))

    @property
    def limit_hours(self) -> float:
        return float(self.resources.get("runtime", 0) or 0) / 60


def _pairs(text: str) -> dict[str, str]:
    return dict(part.strip().split("=", 1) for part in text.split(", ") if "=" in part)


def parse_dry_run(text: str) -> list[PlannedJob]:
    """The jobs of ``snakemake -n`` output (one block per job: ``rule X:`` then indented fields)."""
    jobs: list[PlannedJob] = []
    current: dict[str, Any] | None = None
    for line in text.splitlines():
        head = JOB_HEAD.match(line)
        if head:
            if current is not None:
                jobs.append(PlannedJob(**current))
            current = {"rule": head.group(1)}
            continue
        if current is None or not line.startswith("    "):
            if current is not None and line.strip() and not line.startswith("    "):
                jobs.append(PlannedJob(**current))
                current = None
            continue
        name, _, value = line.strip().partition(": ")
        if name == "wildcards":
            current["wildcards"] = _pairs(value)
        elif name == "resources":
            current["resources"] = _pairs(value)
        elif name == "threads":
            current["threads"] = int(value)
        elif name == "benchmark":
            current["benchmark"] = value
    if current is not None:
        jobs.append(PlannedJob(**current))
    return jobs


@dataclass(frozen=True)
class Estimate:
    hours: float  # wall-clock hours of one job
    source: str  # "pace" (budget.pace) or "limit" (the requested runtime)


def job_estimate(job: PlannedJob, config: Mapping[str, Any]) -> Estimate:
    """A train job of a model whose backend has a pace: ``recipe.steps`` at that pace, scaled by GPUs (the
    global batch is fixed, so twice the GPUs take half the hours); any other job: its time limit."""
    model = job.wildcards.get("model")
    spec = config.get("models", {}).get(model or "", {})
    pace = config.get("budget", {}).get("pace", {}).get(spec.get("backend", ""))
    if job.rule == "train" and pace and "recipe" in spec:
        steps = int(spec["recipe"].get("steps", pace["steps"]))
        gpus = max(job.gpus, 1)
        hours = float(pace["hours"]) * steps / float(pace["steps"]) * float(pace["gpus"]) / gpus
        return Estimate(hours, "pace")
    return Estimate(job.limit_hours, "limit")


def measured_hours(job: PlannedJob, root: Path) -> tuple[float, float] | None:
    """(wall-clock, CPU) hours the job took, from its Snakemake benchmark file (None where it has not run)."""
    if not job.benchmark or not (root / job.benchmark).is_file():
        return None
    with open(root / job.benchmark, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    if not rows or not rows[-1].get("s"):
        return None
    cpu = rows[-1].get("cpu_time") or "nan"
    return float(rows[-1]["s"]) / 3600, float(cpu) / 3600


COLUMNS = [
    "rule",
    "model",
    "jobs",
    "done",
    "gpus_per_job",
    "hours_per_job",
    "hours_from",
    "gpu_hours",
    "job_hours",
    "cpu_hours",
    "measured_job_hours",
    "measured_cpu_hours",
]


def budget_table(
    planned: Sequence[PlannedJob], todo: Sequence[PlannedJob], config: Mapping[str, Any], root: Path
) -> list[dict[str, Any]]:
    """One row per (rule, model) of every planned job: how many, how many done (planned but not to do),
    GPUs and hours per job, GPU-hours and job-hours in all, and the measured hours of those that ran."""
    pending = {job.key for job in todo}
    groups: dict[tuple[str, str], list[PlannedJob]] = {}
    for job in planned:
        if job.rule == "all":  # the target rule: no job of its own
            continue
        groups.setdefault((job.rule, job.wildcards.get("model", "")), []).append(job)
    rows = []
    for (rule, model), jobs in sorted(groups.items()):
        estimates = [job_estimate(j, config) for j in jobs]
        measured = [m for m in (measured_hours(j, root) for j in jobs) if m is not None]
        rows.append(
            {
                "rule": rule,
                "model": model,
                "jobs": len(jobs),
                "done": sum(j.key not in pending for j in jobs),
                "gpus_per_job": max(j.gpus for j in jobs),
                "hours_per_job": max(e.hours for e in estimates),
                "hours_from": "/".join(sorted({e.source for e in estimates})),
                "gpu_hours": sum(j.gpus * e.hours for j, e in zip(jobs, estimates, strict=True)),
                "job_hours": sum(e.hours for e in estimates),
                "cpu_hours": sum(j.threads * e.hours for j, e in zip(jobs, estimates, strict=True)),
                "measured_job_hours": sum(m[0] for m in measured) if measured else None,
                "measured_cpu_hours": sum(m[1] for m in measured) if measured else None,
            }
        )
    return rows


def largest_job(planned: Sequence[PlannedJob], config: Mapping[str, Any]) -> tuple[PlannedJob, Estimate]:
    return max(((j, job_estimate(j, config)) for j in planned), key=lambda je: je[1].hours)


def _number(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


SUMMED = ("jobs", "done", "gpu_hours", "job_hours", "cpu_hours")
MEASURED = ("measured_job_hours", "measured_cpu_hours")


def totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The budget's total row: job counts and hours summed; measured hours None where no job has run."""
    total: dict[str, Any] = {k: sum(r[k] for r in rows) for k in SUMMED}
    for k in MEASURED:
        ran = [r[k] for r in rows if r[k] is not None]
        total[k] = sum(ran) if ran else None
    return total


def notes(largest: tuple[PlannedJob, Estimate], limit_h: float | None) -> list[str]:
    """The paragraphs under the table: the largest job (against the limit, if any) and what columns mean."""
    job, est = largest
    where = ", ".join(f"{k}={v}" for k, v in sorted(job.wildcards.items()))
    note = f"Largest job: {job.rule} ({where}), {est.hours:.1f} h ({est.source})"
    if limit_h is not None:
        fits = "fits" if est.hours <= limit_h else "EXCEEDS"
        note += f": {fits} the partition's {limit_h:g} h limit"
    legend = (
        "hours/job: the training pace (budget.pace, from the paper) scaled to the recipe's steps and GPUs, "
        "or the requested time limit (an upper bound); done: planned jobs whose outputs are up to date; "
        "CPU-hours: threads x hours; measured: hours of the jobs that ran (their Snakemake benchmark files)."
    )
    return [f"{note}.", legend]


def to_markdown(
    rows: Sequence[Mapping[str, Any]], largest: tuple[PlannedJob, Estimate], limit_h: float | None
) -> str:
    """The budget as a Markdown table with totals, the largest job and, with a limit, whether it fits."""
    head = (
        "| rule | model | jobs | done | GPUs/job | hours/job | from | GPU-hours | job-hours | CPU-hours "
        "| measured job-hours | measured CPU-hours |"
    )
    lines = [head, "|---" * 12 + "|"]
    for r in rows:
        lines.append(
            f"| {r['rule']} | {r['model'] or '-'} | {r['jobs']} | {r['done']} | {r['gpus_per_job']} | "
            f"{_number(r['hours_per_job'], 2)} | {r['hours_from']} | {_number(r['gpu_hours'])} | "
            f"{_number(r['job_hours'])} | {_number(r['cpu_hours'])} | "
            f"{_number(r['measured_job_hours'], 3)} | {_number(r['measured_cpu_hours'], 3)} |"
        )
    t = totals(rows)
    lines.append(
        f"| **total** | | {t['jobs']} | {t['done']} | | | | **{_number(t['gpu_hours'])}** | "
        f"{_number(t['job_hours'])} | {_number(t['cpu_hours'])} | "
        f"{_number(t['measured_job_hours'], 3)} | {_number(t['measured_cpu_hours'], 3)} |"
    )
    return "\n".join(lines) + "\n\n" + "\n\n".join(notes(largest, limit_h)) + "\n"


def dry_run(
    configfiles: Sequence[str],
    *,
    forceall: bool,
    cwd: Path,
    snakefile: Path | None = None,
    snakemake: str | None = None,
) -> str:
    """Snakemake's dry run from ``cwd`` (the repository root, or a run's working directory with the
    repository's ``snakefile``), as the user's command plans it."""
    exe = snakemake or str(Path(sys.executable).with_name("snakemake"))
    # --rerun-incomplete: jobs a crashed or running run left incomplete (inside a run: rule budget itself)
    # are planned, not an error
    cmd = [exe, "-n", "--rerun-incomplete"]
    if snakefile is not None:
        cmd += ["--snakefile", str(snakefile), "--directory", str(cwd)]
    if configfiles:
        cmd += ["--configfile", *configfiles]
    if forceall:
        cmd.append("--forceall")
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{(done.stdout + done.stderr)[-3000:]}")
    return done.stdout + done.stderr


def study_config(configfiles: Sequence[str], root: Path, repo: Path | None = None) -> dict[str, Any]:
    """The config the workflow sees: the named files (relative to ``root``) merged in order, the repository's
    config/config.yaml when none is named (as the Snakefile does), the schema's defaults filled in."""
    from sgt.plan.config import SCHEMA, load_config
    from sgt.schema import validate_config

    repo = repo or root
    config = load_config(*([root / name for name in configfiles] or [repo / "config" / "config.yaml"]))
    validate_config(config, repo / SCHEMA)
    return config


@dataclass(frozen=True)
class Budget:
    rows: list[dict[str, Any]]
    largest: tuple[PlannedJob, Estimate]
    limit_h: float | None

    def markdown(self) -> str:
        return to_markdown(self.rows, self.largest, self.limit_h)

    def html(self, title: str) -> str:
        """The same table as an HTML page: the report shows HTML entries inline, Markdown only as a file."""
        import html

        import pandas as pd

        frame = pd.DataFrame([*self.rows, {"rule": "total", **totals(self.rows)}], columns=COLUMNS)
        for column in MEASURED:  # None (not run) -> NaN -> an empty cell
            frame[column] = pd.to_numeric(frame[column], errors="coerce")
        paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in notes(self.largest, self.limit_h))
        table = frame.to_html(index=False, na_rep="", float_format=lambda v: f"{v:,.4g}")
        return f"<html><body><h2>{html.escape(title)}</h2>{table}{paragraphs}</body></html>\n"


def plan_budget(
    configfiles: Sequence[str], root: Path, limit_h: float | None = None, *, repo: Path | None = None
) -> Budget:
    """The budget of the study ``configfiles`` plan from ``root``: the repository root, or (rule budget) a
    run's working directory with the ``repo`` its Snakefile is in."""
    config = study_config(configfiles, root, repo)
    snakefile = repo / "Snakefile" if repo else None
    planned = parse_dry_run(dry_run(configfiles, forceall=True, cwd=root, snakefile=snakefile))
    todo = parse_dry_run(dry_run(configfiles, forceall=False, cwd=root, snakefile=snakefile))
    if not planned:
        raise RuntimeError("the dry run planned no jobs; is this the repository root?")
    limit = limit_h if limit_h is not None else config.get("budget", {}).get("time_limit_h")
    rows = budget_table(planned, todo, config, root)
    return Budget(rows, largest_job(planned, config), limit)
