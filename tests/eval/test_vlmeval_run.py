"""The vlmeval job end to end against a stand-in for VLMEvalKit's run.py (ours, named as one).

The stand-in behaves like run.py at e8e78f05 where it matters to us: it reads the ``--config`` JSON, writes
``<work-dir>/<model>/T<id>/`` with one summary per dataset plus ``status.json``, links finished files into
``<work-dir>/<model>/``, and for a dataset whose evaluation raises it records the error and goes on (exit 0).
It also checks what a compute node needs: absolute paths (it runs inside the checkout) and ``LMUData``.
"""

from __future__ import annotations

import json
import math
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from sgt.eval.vlmeval.adapter import NEEDS_JUDGE
from sgt.eval.vlmeval.run import RESULT_COLUMNS, run_vlmeval, vlmeval_python

STAND_IN_RUN_PY = textwrap.dedent(
    '''
    """Stand-in for VLMEvalKit's run.py (tests only): the result layout and per-dataset error handling."""
    import argparse, json, os, sys
    from pathlib import Path

    p = argparse.ArgumentParser()
    for flag in ("--config", "--work-dir", "--mode", "--judge"):
        p.add_argument(flag)
    p.add_argument("--reuse", action="store_true")
    args = p.parse_args()
    for path in (args.config, args.work_dir):
        assert os.path.isabs(path), f"relative path {path} given to run.py, which runs in its checkout"
    assert os.path.isfile(os.path.join(os.environ["LMUData"], "MMStar.tsv")), "LMUData lacks the TSVs"
    cfg = json.loads(Path(args.config).read_text())
    (name, model), = cfg["model"].items()
    assert os.path.isabs(model["model_path"]) and os.path.isdir(model["model_path"]), model
    print(f"Using API Base: x; API Key: {os.environ.get('OPENAI_API_KEY', '')}")
    run = Path(args.work_dir) / name / "T20260807-101010"
    run.mkdir(parents=True, exist_ok=True)
    status = {"datasets": {}}
    for dataset in cfg["data"]:
        print(f"----------- {dataset} -----------")
        try:
            if dataset == os.environ.get("STAND_IN_FAIL"):
                raise RuntimeError("CUDA out of memory")
            out = run / f"{name}_{dataset}_acc.csv"
            out.write_text('"split","Overall"\\n"none","0.5"\\n')
            (run.parent / out.name).symlink_to(out.relative_to(run.parent))
            status["datasets"][dataset] = {"status": "done"}
        except Exception as e:
            print(f"Model {name} x Dataset {dataset} combination failed: {e}, skipping this combination.")
            status["datasets"][dataset] = {"status": "done", "error_message": str(e)}
    (run / "status.json").write_text(json.dumps(status))
    '''
)


@pytest.fixture
def job(tmp_path, monkeypatch):
    checkout = tmp_path / "vlmevalkit"
    checkout.mkdir()
    (checkout / "run.py").write_text(STAND_IN_RUN_PY)
    (tmp_path / "eval_model").mkdir()
    (tmp_path / "LMUData").mkdir()
    (tmp_path / "LMUData" / "MMStar.tsv").write_text("index\tquestion\n")
    manifest = {"datasets": {"MMStar": {"file": "MMStar.tsv"}}}
    (tmp_path / "LMUData" / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.chdir(tmp_path)  # the project root: every path below is relative, as the rule passes them
    cfg = {"datasets": ["MMStar", "POPE", "MathVista_MINI"], "python": sys.executable, "judge": None}

    def run(cfg=cfg, **env):
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        run_vlmeval(
            "eval_model", "vlmevalkit", "LMUData/manifest.json", cfg, "work", "out.csv", "job.log",
            model="bagel", variant="sft", seed=0, vlm_class="Bagel",
        )  # fmt: skip
        return pd.read_csv("out.csv", dtype={"note": object}).fillna({"note": ""})

    return run


def test_a_failed_dataset_keeps_the_others_rows(job):
    table = job(STAND_IN_FAIL="POPE")
    assert list(table.columns) == RESULT_COLUMNS
    head = table[table["headline"]].set_index("benchmark")
    assert head.loc["MMStar", "value"] == 50.0 and head.loc["MMStar", "metric"] == "accuracy"
    assert math.isnan(head.loc["POPE", "value"])
    assert head.loc["POPE", "note"] == "failed in VLMEvalKit: CUDA out of memory"
    # judge-only without a judge: never handed to run.py, and the row says why
    assert (
        math.isnan(head.loc["MathVista_MINI", "value"]) and head.loc["MathVista_MINI", "note"] == NEEDS_JUDGE
    )
    sent = json.loads(Path("work/vlmeval.json").read_text())
    assert list(sent["data"]) == ["MMStar", "POPE"]
    assert sent["model"]["bagel-sft-seed0"] == {
        "class": "Bagel",
        "model_path": str(Path("eval_model").absolute()),
    }


def test_every_dataset_failing_fails_the_job_and_writes_nothing(job):
    cfg = {"datasets": ["MMStar"], "python": sys.executable, "judge": None}
    with pytest.raises(
        RuntimeError, match="scored none of.*MMStar: failed in VLMEvalKit: CUDA out of memory"
    ):
        job(cfg, STAND_IN_FAIL="MMStar")
    assert not Path("out.csv").exists()


def test_the_judge_key_never_reaches_the_log(job):
    cfg = {
        "datasets": ["MMStar"],
        "python": sys.executable,
        "judge": {"model": "gpt-4o-mini", "base_url": "http://127.0.0.1:9/v1", "api_key_env": "SGT_TEST_KEY"},
    }
    job(cfg, SGT_TEST_KEY="sk-secret-123")
    log = Path("job.log").read_text()
    assert "API Key: ***" in log and "sk-secret-123" not in log


def test_missing_vlmeval_environment_is_named_before_anything_runs(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"eval\.vlmeval\.python: .*make vlmeval-env"):
        vlmeval_python(str(tmp_path / ".envs/vlmeval/bin/python"))
    with pytest.raises(FileNotFoundError, match="not on PATH"):
        vlmeval_python("no-such-python-3.99")
    assert vlmeval_python(sys.executable) == str(Path(sys.executable).absolute())
