"""The SLURM and local profiles, tested against a real one-node SLURM cluster started on this machine.

The cluster test installs Debian's slurm-wlm and munge when they are missing (root and apt-get needed;
otherwise it is skipped and ``pytest -rs`` prints why), runs a workflow through
snakemake-executor-plugin-slurm with our real ``profiles/slurm`` and checks sbatch, squeue and slurmd
saw every job. ``WORKFLOW_CASES`` says which workflow: today a toy Snakefile with our DAG's shape; add a
case with the real Snakefile, ``config/test.yaml`` and its targets to test the study itself.
Set SGT_SLURM_INSTALL=0 to skip instead of installing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from toy_workflow import CPU_RULES, GPU_RULES, LOCAL_RULES, TASKS, write_toy_workflow

from sgt.testing.slurm_cluster import CPU_PARTITION, GPU_PARTITION, SlurmCluster, ensure_slurm, start_cluster

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
RUN_TIMEOUT_S = 600  # the workflow run; snakemake ignores SIGTERM while it polls, hence `timeout -k`
# Cluster-only overrides: without slurmdbd, sacct cannot report job states, so ask squeue (the test
# cluster keeps finished jobs for MinJobAge=3600 s), and poll from 2 s instead of the plugin's 40 s.
TEST_CLUSTER_ARGS = ["--slurm-status-command", "squeue", "--slurm-init-seconds-before-status-checks", "2"]
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+?)\)?\.?$", re.M)


@dataclass(frozen=True)
class WorkflowCase:
    """A workflow to run through SLURM: where it is, its config, targets and which rules must reach SLURM."""

    name: str
    prepare: Callable[[Path], tuple[Path, list[str]]]  # work dir -> (Snakefile, extra snakemake args)
    targets: tuple[str, ...] = ()
    gpu_rules: dict[str, int] = field(default_factory=dict)  # rule -> GPUs it requests
    cpu_rules: tuple[str, ...] = ()
    retried_rules: tuple[str, ...] = ()  # rules whose first attempt must fail and the retry pass
    local_rules: tuple[str, ...] = ()  # rules that must run on the submit host, never through sbatch
    check_outputs: Callable[[Path], None] | None = None


def _toy(workdir: Path) -> tuple[Path, list[str]]:
    return write_toy_workflow(workdir), []


def _check_toy_outputs(workdir: Path) -> None:
    summary = (workdir / "results/summary.txt").read_text()
    assert re.search(r"^train slurm_job=\d+ nproc=2 CUDA_VISIBLE_DEVICES=0,1$", summary, re.M), summary
    assert re.search(r"^evaluate slurm_job=\d+ mem_mb=450 CUDA_VISIBLE_DEVICES=0$", summary, re.M), summary
    assert "summary slurm_job=none" in summary, "the local rule must run on the submit host, not in SLURM"
    for task in TASKS:
        text = (workdir / f"results/targets/{task}/manifest.parquet").read_text()
        assert re.match(rf"task={task} slurm_job=\d+$", text.strip()), text


def _study(workdir: Path) -> tuple[Path, list[str]]:
    """The real workflow on its tiny test config; `configfile:` paths resolve against the work dir."""
    (workdir / "config").symlink_to(REPO / "config")
    return REPO / "Snakefile", ["--configfile", str(REPO / "config/test.yaml")]


WORKFLOW_CASES = [
    WorkflowCase(
        name="toy",
        prepare=_toy,
        gpu_rules=GPU_RULES,
        cpu_rules=CPU_RULES,
        retried_rules=("evaluate",),
        local_rules=LOCAL_RULES,
        check_outputs=_check_toy_outputs,
    ),
    # The study on config/test.yaml: 29 sbatch jobs, passed by hand in 12.6 min on a busy 2-core machine,
    # too slow for every `make test`:
    # WorkflowCase(
    #     name="study",
    #     prepare=_study,
    #     gpu_rules={"pretrain": 0, "finetune": 0, "evaluate": 0},  # GPUs config/test.yaml gives them
    #     cpu_rules=("make_targets", "target_manifest"),
    #     local_rules=("all", "tables"),
    # ),
]


@pytest.fixture(scope="module")
def slurm_cluster() -> Iterator[SlurmCluster]:
    """A one-node cluster (4 CPUs, 2 dummy GPUs, partitions cpu and gpu), stopped and removed afterwards."""
    reason = ensure_slurm(install=os.environ.get("SGT_SLURM_INSTALL", "1") != "0")
    if reason:
        pytest.skip(f"no local SLURM cluster: {reason}")
    # not tmp_path: pytest makes it 0700, and munged wants every folder above its socket open to all
    cluster = start_cluster(Path(tempfile.mkdtemp(prefix="sgt-slurm-")))
    try:
        yield cluster
    finally:
        cluster.stop()


def _snakemake(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: int
) -> subprocess.CompletedProcess:
    cmd = ["timeout", "-k", "10", str(timeout), *SNAKEMAKE, *args]
    env = {**env, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), env.get("PYTHONPATH")]))}
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout + 30,
    )


def _site_env(**extra: str) -> dict[str, str]:
    """The environment without any SGT_SLURM_* settings of the person running the tests."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SGT_SLURM_")}
    return {**env, **extra}


def test_repo_root_slurm_link_is_the_profile() -> None:
    # `snakemake --profile slurm` looks for ./slurm in the working directory, not for profiles/slurm.
    link = REPO / "slurm"
    assert link.is_symlink(), "the repository root needs the `slurm` -> profiles/slurm link"
    assert os.readlink(link) == "profiles/slurm", "keep the link relative so it works in every clone"
    assert (link / "config.yaml").is_file()


def test_slurm_profile_plans_from_repo_root(tmp_path: Path) -> None:
    """`snakemake --profile slurm -n` from the repository root: rules get partitions and site settings."""
    snakefile = write_toy_workflow(tmp_path)
    env = _site_env(SGT_SLURM_ACCOUNT="proj42", SGT_SLURM_GPU_PARTITION="a100q", SGT_SLURM_GPU_MODEL="a100")
    args = ["--profile", "slurm", "-n", "--snakefile", str(snakefile), "--directory", str(tmp_path)]
    out = _snakemake(args, cwd=REPO, env=env, timeout=120)
    assert out.returncode == 0, out.stdout[-3000:]
    blocks = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^rule (\w+):\n(.*?)^Shell command", out.stdout, re.M | re.S)
    }
    assert set(blocks) >= {"make_targets", "train", "evaluate", "tables"}, out.stdout[-3000:]
    for rule in ("train", "evaluate"):
        assert "slurm_partition=a100q" in blocks[rule] and "gpu_model=a100" in blocks[rule], blocks[rule]
    train = blocks["train"]
    assert "slurm_extra=--exclusive" in train and "nodes=1" in train, train
    assert "tasks=" not in train, "torchrun rules must not set tasks"
    assert "slurm_extra" not in blocks["evaluate"], "single-GPU rules share nodes"
    assert f"slurm_partition={CPU_PARTITION}" in blocks["make_targets"], blocks["make_targets"]
    assert "slurm_account=proj42" in blocks["make_targets"], blocks["make_targets"]


def test_local_profile_runs_gpu_rules_on_cpu(tmp_path: Path) -> None:
    """The demo command `--workflow-profile profiles/local --cores 2` clips gpu requests to 0, runs all."""
    snakefile = write_toy_workflow(tmp_path)
    args = ["--workflow-profile", str(REPO / "profiles/local"), "--cores", "2", "--snakefile", str(snakefile)]
    out = _snakemake([*args, "--config", "fail_below_mb=0"], cwd=tmp_path, env=_site_env(), timeout=180)
    assert out.returncode == 0, out.stdout[-3000:]
    assert "gpu=0" in out.stdout and "gpu=2" not in out.stdout, (
        "gpu requests must be clipped to resources gpu=0"
    )
    summary = (tmp_path / "results/summary.txt").read_text()
    assert "train slurm_job=none nproc=0" in summary, summary


@pytest.mark.slow
@pytest.mark.timeout(1200)  # apt-get install (up to 7 min) + the run
@pytest.mark.parametrize("case", WORKFLOW_CASES, ids=lambda c: c.name)
def test_workflow_runs_through_real_slurm(
    slurm_cluster: SlurmCluster, case: WorkflowCase, tmp_path: Path
) -> None:
    """`snakemake --profile slurm` submits every non-local job with sbatch; GPU jobs get GPUs on one node."""
    workdir = tmp_path / "run"
    workdir.mkdir()
    snakefile, extra = case.prepare(workdir)
    # A fresh clone's layout: `slurm` beside the working directory points at our real profile.
    (workdir / "slurm").symlink_to(REPO / "profiles/slurm")
    args = ["--profile", "slurm", "--snakefile", str(snakefile), *extra, *TEST_CLUSTER_ARGS, *case.targets]
    env = _site_env(**slurm_cluster.env, SGT_SLURM_ACCOUNT="sgt-ci")  # slurmctld accepts any account
    out = _snakemake(args, cwd=workdir, env=env, timeout=RUN_TIMEOUT_S)
    log = out.stdout
    (tmp_path / "snakemake.log").write_text(log)
    context = f"snakemake rc={out.returncode}\n{log[-4000:]}\n{slurm_cluster.logs_tail(15)}"
    assert out.returncode == 0, context

    # 1. the plugin's own record: one "submitted with SLURM jobid" line per remote job
    submitted = {int(jobid): logfile for jobid, logfile in SUBMITTED.findall(log)}
    assert submitted, context
    # 2. slurmctld's record (squeue --states=all keeps finished jobs for MinJobAge)
    jobs = {int(j["JobID"]): j for j in slurm_cluster.jobs()}
    assert set(submitted) <= set(jobs), f"submitted {sorted(submitted)}, squeue knows {sorted(jobs)}"
    rule_of = {jobid: re.sub(r"^rule_|_wildcards_.*$", "", jobs[jobid]["Comment"]) for jobid in submitted}
    # 3. slurmd's record: each batch job was launched on the node
    slurmd_log = (slurm_cluster.log_dir / "slurmd.log").read_text()
    for jobid in submitted:
        assert f"Launching batch job {jobid} " in slurmd_log, f"slurmd never launched job {jobid}\n{context}"

    by_rule: dict[str, list[dict[str, str]]] = {}
    for jobid in sorted(submitted):
        by_rule.setdefault(rule_of[jobid], []).append(jobs[jobid])
    assert set(by_rule) >= set(case.gpu_rules) | set(case.cpu_rules), by_rule
    assert not set(by_rule) & set(case.local_rules), f"local rules were submitted: {sorted(by_rule)}"
    assert all(jobs[jobid]["Account"] == "sgt-ci" for jobid in submitted), "the profile must pass -A"
    for rule, gpus in case.gpu_rules.items():
        for job in by_rule[rule]:
            assert job["Partition"] == GPU_PARTITION, (rule, job)
            assert job["tres-per-job"] == (f"gres:gpu:{gpus}" if gpus else "N/A"), (rule, job)
    for rule in case.cpu_rules:
        assert all(job["Partition"] == CPU_PARTITION for job in by_rule[rule]), (rule, by_rule[rule])
    for rule, rule_jobs in by_rule.items():
        states = [job["State"] for job in rule_jobs]
        if rule in case.retried_rules:
            assert states == ["FAILED", "COMPLETED"], (rule, rule_jobs)
            first, retry = (_mem_mb(job["MinMemory"]) for job in rule_jobs)
            assert retry > first, f"{rule}: the retry must ask for more memory ({first} -> {retry} MB)"
        else:
            assert set(states) == {"COMPLETED"}, (rule, rule_jobs)
    if case.check_outputs:
        case.check_outputs(workdir)


def _mem_mb(value: str) -> int:
    """squeue's MinMemory ('300M', '2G') in MB."""
    number, unit = float(value[:-1]), value[-1].upper()
    return int(number * {"M": 1, "G": 1024, "T": 1024 * 1024}[unit])


def test_mem_mb_parses_squeue_units() -> None:
    assert _mem_mb("300M") == 300 and _mem_mb("2G") == 2048


def test_ensure_slurm_gives_a_reason_instead_of_failing(monkeypatch: pytest.MonkeyPatch) -> None:
    import sgt.testing.slurm_cluster as sc

    monkeypatch.setattr(sc.os, "geteuid", lambda: 1000)
    assert "needs root" in sc.ensure_slurm()
    monkeypatch.setattr(sc.os, "geteuid", lambda: 0)
    monkeypatch.setattr(sc.shutil, "which", lambda name: None)
    reason = sc.ensure_slurm(install=False)
    assert "missing" in reason and "sbatch" in reason and "turned off" in reason
    assert "apt-get is not available" in sc.ensure_slurm(install=True)
