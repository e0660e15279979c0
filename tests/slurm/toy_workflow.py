"""A small Snakefile with our DAG's shape, for testing the profiles without the real workflow.

Rule names are the study's, so the profile's per-rule settings apply: make_targets (CPU, one job per
proxy task) -> train (2 GPUs, whole node, as torchrun would use) -> tables (local rule), and
evaluate (1 GPU, the base model, so it does not wait for training) -> tables. Resources grow with
``attempt`` through ``grow()``, the helper proposed for common.smk. evaluate fails while its mem_mb is
below 400, so its first attempt fails and the retry (mem_mb 300 -> 450) passes: that proves retries and
attempt-scaled resources reach sbatch, off the make_targets -> train path so the test stays short.
"""

from __future__ import annotations

from pathlib import Path

TASKS = ("edge", "depth")
BENCHMARKS = ("mmbench",)
CPU_RULES = ("make_targets",)
GPU_RULES = {"train": 2, "evaluate": 1}
LOCAL_RULES = ("all", "tables")

SNAKEFILE = r'''
TASKS = config.get("tasks", ["edge", "depth"])
BENCHMARKS = config.get("benchmarks", ["mmbench"])
FAIL_BELOW_MB = config.get("fail_below_mb", 400)  # evaluate fails below this mem_mb (a fake OOM)


def grow(base, factor=1.5):
    """Resource value that grows by `factor` on each retry (Snakemake passes `attempt`)."""
    return lambda wildcards, attempt: int(base * factor ** (attempt - 1))


rule all:
    default_target: True
    localrule: True
    input:
        "results/summary.txt",


rule make_targets:
    output:
        "results/targets/{task}/manifest.parquet",
    threads: 1
    resources:
        mem_mb=grow(300),
        runtime=grow(10),
        gpu=0,
    shell:
        "echo task={wildcards.task} slurm_job=${{SLURM_JOB_ID:-none}} > {output}"


rule train:
    input:
        expand("results/targets/{task}/manifest.parquet", task=TASKS),
    output:
        "results/train/model.txt",
    threads: 2
    resources:
        mem_mb=grow(500),
        runtime=grow(10),
        gpu=2,
    shell:
        # a real rule runs `torchrun --nproc_per_node={resources.gpu} ...` here
        "echo train slurm_job=${{SLURM_JOB_ID:-none}} nproc={resources.gpu}"
        " CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}} > {output}"


rule evaluate:
    output:
        "results/eval/base/{bench}.txt",
    threads: 1
    resources:
        mem_mb=grow(300),
        runtime=grow(10),
        gpu=1,
    params:
        fail_below_mb=FAIL_BELOW_MB,
    shell:
        "if [ {resources.mem_mb} -lt {params.fail_below_mb} ]; then"
        " echo 'simulated out-of-memory at mem_mb={resources.mem_mb}' >&2; exit 1; fi; "
        "echo evaluate slurm_job=${{SLURM_JOB_ID:-none}} mem_mb={resources.mem_mb}"
        " CUDA_VISIBLE_DEVICES=${{CUDA_VISIBLE_DEVICES:-unset}} > {output}"


rule tables:
    localrule: True
    input:
        "results/train/model.txt",
        expand("results/eval/base/{bench}.txt", bench=BENCHMARKS),
    output:
        "results/summary.txt",
    shell:
        "cat {input} > {output}; echo summary slurm_job=${{SLURM_JOB_ID:-none}} >> {output}"
'''


def write_toy_workflow(folder: Path) -> Path:
    """Write the toy Snakefile into ``folder``; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "Snakefile"
    path.write_text(SNAKEFILE)
    return path
