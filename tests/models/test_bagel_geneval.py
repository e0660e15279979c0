"""BAGEL GenEval generation through the checkout's own script, seeded by our entry script.

CI runs the launch on ``stand_in_bagel/eval/gen/gen_images_mp.py`` (ours, named as one: upstream's flags, its
``seed = 42`` line and GenEval's layout) with python in place of torchrun. With ``SGT_BAGEL_CHECKOUT`` set,
the real script is checked for the one seed line and for every flag we pass.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sgt.models.backends import get_backend
from sgt.models.backends.bagel_geneval import (
    ENTRY_SCRIPT,
    SEED_LINE,
    UPSTREAM_SCRIPT,
    GenEvalSettings,
    missing_samples,
    publish,
)
from sgt.models.backends.drawing import Job, drawer

STAND_IN = Path(__file__).parent / "stand_in_bagel"
SETTINGS = {"num_images": 2, "batch_size": 1, "resolution": 64}


@pytest.fixture
def checkout(tmp_path):
    dest = tmp_path / "Bagel"
    shutil.copytree(STAND_IN, dest)
    return dest


@pytest.fixture
def eval_model(tmp_path):
    folder = tmp_path / "eval_model"
    folder.mkdir()
    for name in ("llm_config.json", "vit_config.json", "ae.safetensors", "ema.safetensors"):
        (folder / name).write_text("x")
    return folder


def _draw(checkout, eval_model, images, seed, **env):
    backend = get_backend("bagel", checkout=checkout, model_path=checkout / "unused")
    draw = drawer("bagel", "geneval")
    launch = draw.launch(backend, Job(eval_model, images, seed, 2), draw.settings(SETTINGS))
    # one node, a free rendezvous port: 1-GPU jobs packed onto one node must not share a fixed port
    assert launch.argv[:4] == ("torchrun", "--standalone", "--nnodes=1", "--nproc_per_node=2")
    assert not any("master_port" in a for a in launch.argv)
    argv = [sys.executable, *launch.argv[4:]]  # the entry script and upstream's flags, without torchrun
    return subprocess.run(
        argv,
        cwd=launch.cwd,
        env={**os.environ, **launch.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _digest(images: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(images.rglob("*.png")))).hexdigest()


def test_images_in_genevals_layout_with_the_runs_seed(tmp_path, checkout, eval_model):
    images = tmp_path / "work" / "images"
    done = _draw(checkout, eval_model, images, seed=7)
    assert done.returncode == 0, done.stderr
    assert "with seed 7" in done.stdout and "seed 42" not in done.stdout
    assert missing_samples(images, checkout / GenEvalSettings().prompts, 2) == []
    assert json.loads((images / "00001" / "metadata.jsonl").read_text())["tag"] == "two_object"
    other = tmp_path / "other" / "images"
    assert _draw(checkout, eval_model, other, seed=8).returncode == 0
    assert _digest(images) != _digest(other)  # the seed reaches the script
    again = tmp_path / "again" / "images"
    assert _draw(checkout, eval_model, again, seed=7).returncode == 0
    assert _digest(images) == _digest(again)


def test_a_requeued_job_keeps_its_finished_prompts_and_publishes_once_complete(
    tmp_path, checkout, eval_model
):
    images, out = tmp_path / "work" / "images", tmp_path / "results" / "gseed3"
    cut = _draw(checkout, eval_model, images, seed=3, SGT_STAND_IN_STOP_AFTER="1")
    assert cut.returncode != 0
    prompts = checkout / GenEvalSettings().prompts
    assert missing_samples(images, prompts, 2) == [1, 2]
    cfg = GenEvalSettings(**SETTINGS)
    with pytest.raises(RuntimeError, match="2 prompts without all 2 samples.*rerun the job"):
        publish(images, out, prompts, cfg, 3)
    assert not out.exists()
    first = (images / "00000" / "samples" / "00000.png").read_bytes()
    resumed = _draw(checkout, eval_model, images, seed=3)
    assert resumed.returncode == 0 and "skipping generation for prompt: a photo of a bench" in resumed.stdout
    assert (images / "00000" / "samples" / "00000.png").read_bytes() == first
    publish(images, out, prompts, cfg, 3)
    assert not images.exists() and missing_samples(out, prompts, 2) == []
    assert json.loads((out / "sgt_generation.json").read_text())["seed"] == 3


def test_a_script_without_the_seed_line_is_refused(tmp_path, checkout, eval_model):
    script = checkout / UPSTREAM_SCRIPT
    script.write_text(script.read_text().replace(SEED_LINE, "seed = 41"))
    refused = _draw(checkout, eval_model, tmp_path / "images", seed=1)
    assert refused.returncode != 0 and "expected 'seed = 42' once, found 0" in refused.stderr
    assert (tmp_path / ENTRY_SCRIPT).is_file()


def test_unknown_setting_is_named():
    with pytest.raises(KeyError, match="eval.cluster_geneval.bagel: unknown keys \\['cfg_scal'\\]"):
        GenEvalSettings.from_config({"cfg_scal": 3})


def test_a_backend_without_a_drawer_names_what_it_draws():
    with pytest.raises(
        KeyError, match="backend 'bagel' draws no 'dpx' images; it draws \\['dpg', 'gedit', 'geneval'\\]"
    ):
        drawer("bagel", "dpx")


@pytest.mark.skipif(
    not os.environ.get("SGT_BAGEL_CHECKOUT"), reason="needs a Bagel checkout (SGT_BAGEL_CHECKOUT)"
)
def test_the_real_script_has_one_seed_line_and_every_flag_we_pass(tmp_path):
    source = Path(os.environ["SGT_BAGEL_CHECKOUT"], UPSTREAM_SCRIPT).read_text()
    assert source.count(SEED_LINE) == 1
    flags = {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "add_argument"
    }
    backend = get_backend("bagel", checkout=Path(os.environ["SGT_BAGEL_CHECKOUT"]), model_path=tmp_path)
    draw = drawer("bagel", "geneval")
    launch = draw.launch(backend, Job(tmp_path, tmp_path / "images", 0, 8), draw.settings({}))
    passed = {a for a in launch.argv if a.startswith("--") and "=" not in a}
    assert passed <= flags, passed - flags
    assert Path(os.environ["SGT_BAGEL_CHECKOUT"], GenEvalSettings().prompts).is_file()
