"""DPG-Bench images through BAGEL's GenEval launch (stand-in gen_images_mp.py), tiled into ELLA's grids."""

from __future__ import annotations

import hashlib
import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sgt.eval.dpg.scoring import GRID as SCORER_GRID
from sgt.eval.dpg.scoring import image_grid
from sgt.models.backends import get_backend
from sgt.models.backends.dpg_drawing import GRID, METADATA, dpg_prompts
from sgt.models.backends.drawing import Job, drawer
from sgt.models.backends.layouts import missing_samples

HERE = Path(__file__).parent
PROMPTS = {
    "item_b": "a red cube left of a blue ball",
    "item_a": "two cats on a sofa",
    "item_c": "a lighthouse",
}


@pytest.fixture
def ella(tmp_path):
    root = tmp_path / "ella"
    (root / "dpg_bench" / "prompts").mkdir(parents=True)
    for item, text in PROMPTS.items():
        (root / "dpg_bench" / "prompts" / f"{item}.txt").write_text(text + "\n")
    return root


@pytest.fixture
def setup(tmp_path):
    checkout = tmp_path / "Bagel"
    shutil.copytree(HERE / "stand_in_bagel", checkout)
    model = tmp_path / "eval_model"
    model.mkdir()
    for name in ("llm_config.json", "vit_config.json", "ae.safetensors", "ema.safetensors"):
        (model / name).write_text("x")
    return get_backend("bagel", checkout=checkout, model_path=tmp_path), model


def _draw(setup, ella, work, settings=None, **env):
    backend, model = setup
    draw = drawer("bagel", "dpg")
    cfg = draw.settings(settings or {"resolution": 64})
    job = Job(model, work / "images", None, 1, {"ella": ella})
    (work / "images").mkdir(parents=True, exist_ok=True)
    launch = draw.launch(backend, job, cfg)
    assert launch.argv[0] == "torchrun" and "--cfg_scale" in launch.argv
    assert launch.argv[launch.argv.index("--cfg_scale") + 1] == "3.0"  # the fork's run_dpg.sh
    argv = [sys.executable, *launch.argv[4:]]
    done = subprocess.run(
        argv,
        cwd=launch.cwd,
        env={**os.environ, **launch.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, backend, draw, job, cfg


def _digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*.png")))).hexdigest()


def test_grids_in_ellas_layout_with_the_resolution_recorded(tmp_path, setup, ella):
    work = tmp_path / "work"
    done, backend, draw, job, cfg = _draw(setup, ella, work)
    assert done.returncode == 0, done.stderr
    assert "with seed 15" in done.stdout  # the DPG seed reaches BAGEL's script
    meta = [json.loads(line) for line in (work / METADATA).read_text().splitlines()]
    assert meta == [{"prompt": PROMPTS[i], "item_id": i} for i in sorted(PROMPTS)]
    samples = [
        np.asarray(Image.open(work / "images" / "00001" / "samples" / f"{k:05}.png")) for k in range(4)
    ]
    out = tmp_path / "results" / "dpg"
    draw.publish(backend, job, cfg, out)
    assert sorted(p.name for p in out.glob("*.png")) == ["item_a.png", "item_b.png", "item_c.png"]
    grid = np.asarray(Image.open(out / "item_b.png"))
    assert grid.shape == (16, 16, 3) and np.array_equal(grid, image_grid(samples))  # the scorer's own tiling
    assert np.array_equal(grid[0:8, 8:16], samples[1])  # (column 1, row 0) is the second sample
    record = json.loads((out / "sgt_generation.json").read_text())
    assert record["resolution"] == 8 and record["pic_num"] == 4 and record["seed"] == 15
    from sgt.eval.dpg.run import grid_settings  # what score_dpg reads

    assert grid_settings(out) == (8, 4)
    assert not work.exists()  # the samples live on in the grids


def test_the_grid_order_is_the_scorers(tmp_path):
    assert GRID == SCORER_GRID


def test_seeds_and_resume(tmp_path, setup, ella):
    first = tmp_path / "a"
    cut, backend, draw, job, cfg = _draw(setup, ella, first, SGT_STAND_IN_STOP_AFTER="1")
    assert cut.returncode != 0
    assert missing_samples(first / "images", first / METADATA, 4) == [1, 2]
    with pytest.raises(RuntimeError, match="2 DPG prompts without all 4 samples.*rerun the job"):
        draw.publish(backend, job, cfg, tmp_path / "out_a")
    assert not (tmp_path / "out_a").exists()
    assert _draw(setup, ella, first)[0].returncode == 0
    draw.publish(backend, job, cfg, tmp_path / "out_a")
    second = tmp_path / "b"
    _, backend, draw, job_b, cfg_b = _draw(setup, ella, second)
    draw.publish(backend, job_b, cfg_b, tmp_path / "out_b")
    # the prompt finished before the cut keeps its bytes; BAGEL's script seeds one stream per process, so the
    # prompts drawn after a resume get other noise than in an uncut run (upstream's behaviour, as for GenEval)
    assert (tmp_path / "out_a" / "item_a.png").read_bytes() == (
        tmp_path / "out_b" / "item_a.png"
    ).read_bytes()
    third = tmp_path / "c"
    _, backend, draw, job_c, cfg_c = _draw(setup, ella, third, {"resolution": 64, "seed": 16})
    draw.publish(backend, job_c, cfg_c, tmp_path / "out_c")
    assert _digest(tmp_path / "out_c") != _digest(tmp_path / "out_b")
    fourth = tmp_path / "d"
    _, backend, draw, job_d, cfg_d = _draw(setup, ella, fourth)
    draw.publish(backend, job_d, cfg_d, tmp_path / "out_d")
    assert _digest(tmp_path / "out_d") == _digest(tmp_path / "out_b")  # the same seed, the same bytes


def test_bad_settings_and_inputs_are_named(tmp_path):
    draw = drawer("bagel", "dpg")
    with pytest.raises(ValueError, match="eval.cluster_dpg.bagel.num_images must be 4"):
        draw.settings({"num_images": 2})
    with pytest.raises(KeyError, match=r"eval.cluster_dpg.bagel: unknown keys \['steps'\]"):
        draw.settings({"steps": 3})
    with pytest.raises(FileNotFoundError, match="no <item_id>.txt prompts"):
        dpg_prompts(tmp_path)


def test_the_rule_script_runs_a_job_without_a_generation_seed_wildcard(tmp_path, setup, ella, monkeypatch):
    """workflow/scripts/generate.py with Snakemake's own containers: no gseed wildcard, the drawer's seed."""
    from snakemake.iocontainers import InputFiles, Params, Wildcards

    from sgt.models.backends import run as run_module

    def without_torchrun(launch, log):
        argv = [sys.executable, *launch.argv[4:]]
        subprocess.run(
            argv, cwd=launch.cwd, env={**os.environ, **launch.env}, check=True, capture_output=True
        )

    monkeypatch.setattr(run_module, "run_launch", without_torchrun)
    monkeypatch.setattr("sgt.logs.setup_logging", lambda *a, **k: None)
    backend, model = setup
    out = tmp_path / "results" / "generation" / "bagel" / "sft" / "seed0" / "dpg"

    class Job:
        wildcards = Wildcards(fromdict={"model": "bagel", "variant": "sft", "seed": "0"})
        input = InputFiles(
            fromdict={"model": str(model), "checkout": str(backend.checkout), "ella": str(ella)}
        )
        output = [str(out)]
        log = [str(tmp_path / "job.log")]
        resources = Params(fromdict={"gpu": 1})
        params = Params(
            fromdict={
                "model_cfg": {"backend": "bagel", "model_path": str(tmp_path)},
                "benchmark": "dpg",
                "settings": {"resolution": 64},
                "workdir": str(tmp_path / "work"),
            }
        )

    runpy.run_path(
        str(HERE.parents[1] / "workflow" / "scripts" / "generate.py"), init_globals={"snakemake": Job}
    )
    record = json.loads((out / "sgt_generation.json").read_text())
    assert record["seed"] == 15 and record["items"] == 3 and (out / "item_c.png").is_file()


def test_any_backend_with_a_geneval_launch_draws_dpg(tmp_path, ella):
    """OmniGen2's GenEval drawer on DPG prompts (not registered: Table 9 is BAGEL only)."""
    from sgt.models.backends.dpg_drawing import GenEvalStyleDPG

    checkout = tmp_path / "OmniGen2"
    shutil.copytree(HERE / "stand_in_omnigen2", checkout)
    model = tmp_path / "generation_model"
    for name in ("model_index.json", "transformer/config.json", "transformer/diffusion_pytorch_model.bin",
                 "mllm/config.json", "mllm/model.safetensors"):  # fmt: skip
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_text("x")
    backend = get_backend(
        "omnigen2", checkout=checkout, model_path=model, vae_path=model, text_encoder_path=model
    )
    draw = type("OmniGen2DPG", (GenEvalStyleDPG,), {"backend": "omnigen2"})()
    cfg = draw.settings({"height": 256, "width": 256, "seed": 3})
    job = Job(model, tmp_path / "work" / "images", None, 1, {"ella": ella})
    job.images.mkdir(parents=True)
    launch = draw.launch(backend, job, cfg)
    assert launch.argv[launch.argv.index("--sgt_seed") + 1] == "3"
    env = {**os.environ, **launch.env}
    done = subprocess.run(
        [sys.executable, *launch.argv[4:]],
        cwd=launch.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    draw.publish(backend, job, cfg, tmp_path / "dpg")
    assert np.asarray(Image.open(tmp_path / "dpg" / "item_a.png")).shape == (4, 4, 3)  # 2x2 of 2 px stand-ins
    assert json.loads((tmp_path / "dpg" / "sgt_generation.json").read_text())["resolution"] == 2
