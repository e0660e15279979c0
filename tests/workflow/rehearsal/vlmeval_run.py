"""Stand-in for VLMEvalKit's run.py (rehearsal only, not upstream's code): no model is loaded or run.

It takes upstream's argv (--config, --work-dir, --mode, --judge, --reuse), checks what a compute node needs
(absolute paths, each dataset's TSV in $LMUData, the model folder), and writes what run.py at e8e78f05 leaves:
``<work-dir>/<model>/T<date>/<model>_<dataset><suffix>`` per dataset, linked into ``<work-dir>/<model>/``,
plus ``status.json``. Every number is the fixed rehearsal value 0.5 (50 for 0-100 scores).
"""

import argparse
import json
import os
from pathlib import Path

# dataset -> (summary suffix, csv rows as {column: value}) in VLMEvalKit's own layouts
SUMMARIES = {
    "CV-Bench-2D": ("_acc.csv", [{"split": "2D", "Overall": 0.5}]),
    "MMVP": ("_acc.csv", [{"Average": 0.5, "Overall": 0.5}]),
    "VSR-zeroshot": ("_score.csv", [{"acc": 50.0, "f1_score": 0.5}]),
    "POPE": ("_score.csv", [{"split": "Overall", "Overall": 50.0}]),
    "HallusionBench": (
        "_score.csv",
        [{"split": "Overall", "aAcc": 50.0, "fAcc": 50.0, "qAcc": 50.0, "avg": 50.0}],
    ),
    "MMMU_DEV_VAL": ("_acc.csv", [{"split": "validation", "Overall": 0.5}]),
    "OCRBench": ("_score.json", {"Final Score": 500, "Final Score Norm": 50.0}),
    "DocVQA_VAL": ("_acc.csv", [{"Overall": 50.0}]),
    "MME": ("_score.csv", [{"perception": 1000.0, "reasoning": 300.0, "total": 1300.0}]),
    "MMBench_DEV_EN_V11": ("_acc.csv", [{"split": "dev", "Overall": 0.5}]),
}
MCQ = ("_acc.csv", [{"split": "none", "Overall": 0.5}])


def write_summary(path, content):
    if isinstance(content, dict):
        path.write_text(json.dumps(content))
        return
    columns = list(content[0])
    lines = [",".join(f'"{c}"' for c in columns)]
    lines += [",".join(f'"{row[c]}"' for c in columns) for row in content]
    path.write_text("\n".join(lines) + "\n")


def main():
    p = argparse.ArgumentParser()
    for flag in ("--config", "--work-dir", "--mode", "--judge"):
        p.add_argument(flag)
    p.add_argument("--reuse", action="store_true")
    args = p.parse_args()
    for path in (args.config, args.work_dir):
        assert os.path.isabs(path), f"relative path {path} given to run.py, which runs in its checkout"
    cfg = json.loads(Path(args.config).read_text())
    ((name, model),) = cfg["model"].items()
    assert os.path.isdir(model["model_path"]), model
    run = Path(args.work_dir) / name / "T20260101_G0000000"
    run.mkdir(parents=True, exist_ok=True)
    status = {"datasets": {}}
    for dataset in cfg["data"]:
        tsv = os.path.join(os.environ["LMUData"], f"{dataset}.tsv")
        assert os.path.isfile(tsv), f"LMUData lacks {tsv}"
        suffix, content = SUMMARIES.get(dataset, MCQ)
        out = run / f"{name}_{dataset}{suffix}"
        write_summary(out, content)
        link = run.parent / out.name
        if link.is_symlink():
            link.unlink()
        link.symlink_to(out.relative_to(run.parent))
        status["datasets"][dataset] = {"status": "done"}
        print(f"stand-in run.py: {dataset} -> {out}")
    (run / "status.json").write_text(json.dumps(status))


if __name__ == "__main__":
    main()
