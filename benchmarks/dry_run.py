"""How long the paper study takes to plan, against trivial Snakefiles with the same number of jobs.

All dry runs start the same snakemake in fresh processes, interleaved, best of ``--repeats``. Two trivial
workflows, each one wildcard rule and a target rule: ``bare`` (a shell command, no log) and ``shaped`` (a
log, a benchmark and a script, as every rule of ours has: Snakemake reads each job's script while it plans,
about 0.4 ms a job). Against ``shaped`` the ratio is what our config checks, rule files and input functions
cost on top of Snakemake (issue 20's target: at most 1.5x); against ``bare`` it also counts those features.

    PYTHONPATH=src python benchmarks/dry_run.py [--configfile config/paper.yaml] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
BARE = """\
rule all:
    input: expand("out/{{i}}.txt", i=range({n}))
rule make:
    output: "out/{{i}}.txt"
    shell: "touch {{output}}"
"""
SHAPED = """\
rule all:
    input: expand("out/{{i}}.txt", i=range({n}))
rule make:
    output: "out/{{i}}.txt"
    log: "logs/{{i}}.log"
    benchmark: "benchmarks/{{i}}.tsv"
    params: index=lambda w: int(w.i)
    script: "make.py"
"""


def best_times(runs: dict[str, tuple[list[str], Path]], repeats: int) -> dict[str, float]:
    """Each command's best wall time, the commands interleaved so load changes hit them alike."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, (cmd, cwd) in runs.items():
            started = time.perf_counter()
            subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
            times[name].append(time.perf_counter() - started)
    return {name: min(t) for name, t in times.items()}


def planned_jobs(configfile: str) -> int:
    out = subprocess.run(
        [SNAKEMAKE, "-n", "--configfile", configfile], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return int(re.search(r"^total\s+(\d+)$", out, re.M).group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configfile", default="config/paper.yaml")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    jobs = planned_jobs(args.configfile)
    with tempfile.TemporaryDirectory() as tmp:
        bare, shaped = Path(tmp) / "bare", Path(tmp) / "shaped"
        for folder, text in ((bare, BARE), (shaped, SHAPED)):
            folder.mkdir()
            (folder / "Snakefile").write_text(text.format(n=jobs - 1))
        (shaped / "make.py").write_text("open(snakemake.output[0], 'w').close()\n")
        dry = [SNAKEMAKE, "-n", "-q", "--cores", "1"]
        best = best_times(
            {
                "ours": ([SNAKEMAKE, "-n", "-q", "--configfile", args.configfile], REPO),
                "bare": (dry, bare),
                "shaped": (dry, shaped),
            },
            args.repeats,
        )
    result = {"jobs": jobs, **{f"{k}_s": round(v, 3) for k, v in best.items()}}
    result |= {
        "ratio_shaped": round(best["ours"] / best["shaped"], 2),
        "ratio_bare": round(best["ours"] / best["bare"], 2),
    }
    print(
        f"{args.configfile}: {jobs} jobs planned in {best['ours']:.2f} s; trivial Snakefiles, as many jobs: "
        f"shaped like ours {best['shaped']:.2f} s (ratio {result['ratio_shaped']:.2f}x), bare "
        f"{best['bare']:.2f} s (ratio {result['ratio_bare']:.2f}x); best of {args.repeats}, interleaved"
    )
    if args.out:
        args.out.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
