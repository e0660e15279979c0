"""Rules generate_geneval, generate_dpg, gedit_dataset and generate_gedit run by Snakemake on the paper
config, in a temporary working directory holding a tuned BAGEL's eval folder (stand-in files), the
stand-in BAGEL checkout (tests/models/stand_in_bagel), ELLA's prompts and a local GEdit-Bench copy;
``torchrun`` on PATH is a stand-in that runs the entry script with this Python on one process."""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "models"))
from test_gedit_generation import ROWS, _png  # noqa: E402
from test_workflow import REPO, snakemake  # noqa: E402

from sgt.eval.dpg.run import grid_settings  # noqa: E402
from sgt.eval.gedit.run import read_gedit_folder  # noqa: E402

GEN = "results/generation/bagel/sft/seed0"
TORCHRUN = f"""#!{sys.executable}
# Stand-in for torchrun (tests only): drop its own flags, run the entry script on one process.
import os, sys
args = sys.argv[1:]
while args and args[0].startswith("--"):
    args.pop(0)
os.execv(sys.executable, [sys.executable, *args])
"""


def workdir(tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    model = run / "results" / "eval_models" / "bagel" / "sft" / "seed0"
    model.mkdir(parents=True)
    for name in ("llm_config.json", "vit_config.json", "ae.safetensors", "ema.safetensors"):
        (model / name).write_text("x")
    shutil.copytree(REPO / "tests" / "models" / "stand_in_bagel", run / "results" / "upstream" / "bagel")
    prompts = run / "results" / "upstream" / "ella" / "dpg_bench" / "prompts"
    prompts.mkdir(parents=True)
    for item in ("d1", "d2"):
        (prompts / f"{item}.txt").write_text(f"prompt {item}\n")
    repo = tmp_path / "GEdit-Bench" / "data"
    repo.mkdir(parents=True)
    table = pa.table(
        {
            "task_type": [t for _, t, _ in ROWS],
            "key": [k for k, _, _ in ROWS],
            "instruction": [f"edit {k}" for k, _, _ in ROWS],
            "instruction_language": [lang for _, _, lang in ROWS],
            "input_image": [{"bytes": _png(i), "path": None} for i in range(len(ROWS))],
        }
    )
    pq.write_table(table, repo / "train-00000-of-00001.parquet")
    overlay = tmp_path / "generation.yaml"
    small = {"num_images": 2, "resolution": 64}
    overlay.write_text(
        yaml.safe_dump(
            {
                "eval": {
                    "cluster_geneval": {"seeds": [3], "bagel": small},
                    "cluster_dpg": {"bagel": {"resolution": 64}},
                    "cluster_gedit": {"dataset": str(repo.parent)},
                }
            }
        )
    )
    return run, overlay


def test_the_generation_rules_run_end_to_end_and_publish_the_scorers_layouts(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "torchrun").write_text(TORCHRUN)
    (bin_dir / "torchrun").chmod((bin_dir / "torchrun").stat().st_mode | stat.S_IEXEC)
    (bin_dir / "python").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" "$@"\n'
    )  # a link would lose the venv
    (bin_dir / "python").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    run, overlay = workdir(tmp_path)
    targets = (f"{GEN}/geneval/gseed3", f"{GEN}/dpg", f"{GEN}/gedit")
    result = snakemake(
        *targets, "--cores", "1", "-d", str(run),
        "--allowed-rules", "generate_geneval", "generate_dpg", "generate_gedit", "gedit_dataset",
        "--configfile", str(REPO / "config" / "paper.yaml"), str(overlay), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    geneval = run / GEN / "geneval" / "gseed3"
    assert json.loads((geneval / "sgt_generation.json").read_text())["seed"] == 3
    assert sorted(p.name for p in (geneval / "00002" / "samples").iterdir()) == ["00000.png", "00001.png"]
    assert grid_settings(run / GEN / "dpg") == (8, 4)
    assert sorted(p.name for p in (run / GEN / "dpg").glob("*.png")) == ["d1.png", "d2.png"]
    assert [i.key for i in read_gedit_folder(run / GEN / "gedit", "en")] == ["k0", "k1", "k2"]
    assert not (run / "results" / "work" / "generation" / "bagel" / "sft" / "seed0" / "dpg").exists()
    again = snakemake(
        *targets, "--cores", "1", "-d", str(run), "-n",
        "--allowed-rules", "generate_geneval", "generate_dpg", "generate_gedit", "gedit_dataset",
        "--configfile", str(REPO / "config" / "paper.yaml"), str(overlay),
    )  # fmt: skip
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-2000:]


def test_omnigen2_geneval_runs_from_a_generation_folder_built_by_its_rule(tmp_path, monkeypatch):
    """generation_model links the release with the run's weights; generate_geneval draws from it."""
    from test_omnigen2_geneval import PROMPTS, _base, _run

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "torchrun").write_text(TORCHRUN)
    (bin_dir / "torchrun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    run = tmp_path / "run"
    results = run / "results"
    base = _base(tmp_path)
    ckpt, eval_folder = _run(tmp_path / "train")
    handoff = results / "models" / "omnigen2" / "sft" / "seed0"
    handoff.mkdir(parents=True)
    (handoff / "checkpoint.json").write_text(json.dumps({"checkpoint": str(ckpt), "backend": "omnigen2"}))
    shutil.copytree(eval_folder, results / "eval_models" / "omnigen2" / "sft" / "seed0")
    shutil.copytree(
        REPO / "tests" / "models" / "stand_in_omnigen2", results / "upstream" / "omnigen2" / "OmniGen2"
    )
    (results / "upstream" / "geneval" / "prompts").mkdir(parents=True)
    shutil.copy(PROMPTS, results / "upstream" / "geneval" / "prompts" / "evaluation_metadata.jsonl")
    overlay = tmp_path / "omnigen2.yaml"
    overlay.write_text(
        yaml.safe_dump(
            {
                "models": {"omnigen2": {"model_path": str(base)}},
                "eval": {
                    "cluster_geneval": {
                        "seeds": [1],
                        "omnigen2": {"num_images": 2, "height": 256, "width": 256},
                    }
                },
            }
        )
    )
    target = "results/generation/omnigen2/sft/seed0/geneval/gseed1"
    result = snakemake(
        target, "--cores", "1", "-d", str(run), "--allowed-rules", "generation_model", "generate_geneval",
        "--configfile", str(REPO / "config" / "paper.yaml"), str(overlay), timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    folder = results / "generation_models" / "omnigen2" / "sft" / "seed0"
    assert (
        folder / "transformer" / "diffusion_pytorch_model.safetensors"
    ).resolve() == ckpt / "model.safetensors"
    record = json.loads((run / target / "sgt_generation.json").read_text())
    assert record["seed"] == 1 and record["text_guidance_scale"] == 4.0
    assert (run / target / "00002" / "samples" / "00001.png").is_file()
