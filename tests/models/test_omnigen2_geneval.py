"""OmniGen2 GenEval generation through the checkout's inference.py functions, from a generation folder.

CI runs the entry script on ``stand_in_omnigen2/scripts/infra/inference.py`` (ours, named as one: upstream's
flags and function signatures, noise for images) with python in place of torchrun. With
``SGT_OMNIGEN2_CHECKOUT`` set (the SGT fork's OmniGen2/ or VectorSpaceLab/OmniGen2), the real file's own
``parse_args`` parses the flags we pass and its ``load_pipeline``/``run`` take the arguments we give.
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
import torch
from safetensors.torch import save_file

from sgt.models.backends import get_backend
from sgt.models.backends import run as run_module
from sgt.models.backends.drawing import Job, drawer
from sgt.models.backends.generation_folder import omnigen2_generation_folder
from sgt.models.backends.layouts import missing_samples
from sgt.models.backends.omnigen2_geneval import OmniGen2GenEvalSettings, upstream_flags

HERE = Path(__file__).parent
STAND_IN = HERE / "stand_in_omnigen2"
PROMPTS = HERE / "stand_in_bagel" / "eval" / "gen" / "geneval" / "prompts" / "evaluation_metadata.jsonl"
SETTINGS = {"num_images": 2, "height": 256, "width": 256}
TRANSFORMER = {"x_embedder.weight": torch.ones(4, 4), "layers.0.attn.to_q.weight": torch.zeros(4, 4)}


@pytest.fixture
def checkout(tmp_path):
    dest = tmp_path / "SGT" / "OmniGen2"
    shutil.copytree(STAND_IN, dest)
    return dest


@pytest.fixture
def geneval(tmp_path):
    dest = tmp_path / "geneval"
    (dest / "prompts").mkdir(parents=True)
    shutil.copy(PROMPTS, dest / "prompts" / "evaluation_metadata.jsonl")
    return dest


def _base(root: Path, *, sharded: bool = False) -> Path:
    """A released-OmniGen2-shaped folder with tiny weights."""
    base = root / "OmniGen2"
    for sub in ("transformer", "mllm", "vae", "scheduler", "processor"):
        (base / sub).mkdir(parents=True)
        (base / sub / "config.json").write_text("{}")
    (base / "model_index.json").write_text('{"_class_name": "OmniGen2Pipeline"}')
    if sharded:
        save_file(TRANSFORMER, base / "transformer" / "diffusion_pytorch_model-00001-of-00001.safetensors")
        index = {"weight_map": {k: "diffusion_pytorch_model-00001-of-00001.safetensors" for k in TRANSFORMER}}
        (base / "transformer" / "diffusion_pytorch_model.safetensors.index.json").write_text(
            json.dumps(index)
        )
    else:
        save_file(TRANSFORMER, base / "transformer" / "diffusion_pytorch_model.safetensors")
    save_file({"w": torch.zeros(1)}, base / "mllm" / "model-00001-of-00002.safetensors")
    (base / "mllm" / "model.safetensors.index.json").write_text("{}")
    return base


def _run(root: Path, *, fsdp: bool = False, state: dict | None = None) -> tuple[Path, Path]:
    """A finished run's accelerate checkpoint and vlmeval_model's eval folder."""
    ckpt = root / "experiments" / "checkpoint-2500"
    ckpt.mkdir(parents=True)
    state = {k: v + 1 for k, v in TRANSFORMER.items()} if state is None else state
    if fsdp:
        torch.save(state, ckpt / "pytorch_model_fsdp.bin")
    else:
        save_file(state, ckpt / "model.safetensors")
    eval_folder = root / "eval_model"
    eval_folder.mkdir()
    save_file({"tuned": torch.ones(1)}, eval_folder / "model.safetensors")
    return ckpt, eval_folder


@pytest.fixture
def gen_model(tmp_path):
    ckpt, eval_folder = _run(tmp_path)
    out = tmp_path / "generation_model"
    omnigen2_generation_folder(_base(tmp_path), ckpt, eval_folder, out)
    return out


def _backend(checkout: Path, tmp_path: Path):
    return get_backend(
        "omnigen2", checkout=checkout, model_path=tmp_path, vae_path=tmp_path, text_encoder_path=tmp_path
    )


def _draw(checkout, gen_model, geneval, images, seed, settings=SETTINGS, **env):
    draw = drawer("omnigen2", "geneval")
    job = Job(gen_model, images, seed, 1, {"geneval": geneval})
    launch = draw.launch(_backend(checkout, gen_model), job, draw.settings(settings))
    assert launch.argv[0] == "torchrun" and launch.argv[3] == "--nproc_per_node=1"
    argv = [sys.executable, *launch.argv[4:]]  # the entry script and its flags, without torchrun
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


def test_generation_folder_links_the_release_with_the_runs_transformer_and_mllm(tmp_path, gen_model):
    transformer = gen_model / "transformer" / "diffusion_pytorch_model.safetensors"
    assert transformer.is_symlink() and transformer.resolve().name == "model.safetensors"
    assert (gen_model / "mllm" / "model.safetensors").resolve() == (
        tmp_path / "eval_model" / "model.safetensors"
    )
    assert (gen_model / "model_index.json").is_symlink() and (gen_model / "vae" / "config.json").is_symlink()
    # the release's own transformer and MLLM weights are left out: from_pretrained would load those instead
    names = {p.relative_to(gen_model).as_posix() for p in gen_model.rglob("*") if p.is_file()}
    assert not {"mllm/model-00001-of-00002.safetensors", "mllm/model.safetensors.index.json"} & names
    assert {n for n in names if n.startswith("transformer/")} == {
        "transformer/config.json",
        "transformer/diffusion_pytorch_model.safetensors",
    }
    assert not any(
        p.stat().st_size > 10_000 and not p.is_symlink() for p in gen_model.rglob("*") if p.is_file()
    )


def test_an_fsdp_checkpoint_is_linked_under_diffusers_bin_name(tmp_path):
    ckpt, eval_folder = _run(tmp_path, fsdp=True)
    out = tmp_path / "gen"
    omnigen2_generation_folder(_base(tmp_path, sharded=True), ckpt, eval_folder, out)
    link = out / "transformer" / "diffusion_pytorch_model.bin"
    assert link.resolve() == (ckpt / "pytorch_model_fsdp.bin")
    assert not (out / "transformer" / "diffusion_pytorch_model.safetensors.index.json").exists()


def test_a_checkpoint_of_another_transformer_or_none_is_refused(tmp_path):
    base = _base(tmp_path)
    ckpt, eval_folder = _run(tmp_path, state={"other.weight": torch.ones(2)})
    with pytest.raises(ValueError, match="2 transformer parameters .* missing.*1 unexpected"):
        omnigen2_generation_folder(base, ckpt, eval_folder, tmp_path / "gen")
    (ckpt / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="neither pytorch_model_fsdp.bin nor model.safetensors"):
        omnigen2_generation_folder(base, ckpt, eval_folder, tmp_path / "gen")
    assert not (tmp_path / "gen").exists()


def test_images_in_genevals_layout_seeded_from_the_generation_seed(tmp_path, checkout, gen_model, geneval):
    images = tmp_path / "work" / "images"
    done = _draw(checkout, gen_model, geneval, images, seed=7)
    assert done.returncode == 0, done.stderr
    assert "stand-in pipeline loaded from" in done.stdout and done.stdout.count("loaded from") == 1  # once
    prompts = geneval / "prompts" / "evaluation_metadata.jsonl"
    assert missing_samples(images, prompts, 2) == []
    assert json.loads((images / "00001" / "metadata.jsonl").read_text())["tag"] == "two_object"
    assert sorted(p.name for p in (images / "00002" / "samples").iterdir()) == ["00000.png", "00001.png"]
    s0, s1 = (images / "00000" / "samples" / f"0000{k}.png" for k in (0, 1))
    assert s0.read_bytes() != s1.read_bytes()  # each sample its own noise
    other = tmp_path / "other" / "images"
    assert _draw(checkout, gen_model, geneval, other, seed=8).returncode == 0
    assert _digest(images) != _digest(other)
    again = tmp_path / "again" / "images"
    assert _draw(checkout, gen_model, geneval, again, seed=7).returncode == 0
    assert _digest(images) == _digest(again)
    batched = tmp_path / "batched" / "images"  # two samples per run() call: same layout, other seeds
    assert _draw(checkout, gen_model, geneval, batched, 7, {**SETTINGS, "images_per_call": 2}).returncode == 0
    assert missing_samples(batched, prompts, 2) == []


def test_a_cut_job_keeps_finished_prompts_resumes_to_the_same_bytes_and_publishes_once_complete(
    tmp_path, checkout, gen_model, geneval
):
    images, out = tmp_path / "work" / "images", tmp_path / "results" / "gseed3"
    cut = _draw(checkout, gen_model, geneval, images, seed=3, SGT_STAND_IN_STOP_AFTER="3")
    assert cut.returncode != 0 and "stand-in stopped after 3 calls" in cut.stderr
    prompts = geneval / "prompts" / "evaluation_metadata.jsonl"
    assert missing_samples(images, prompts, 2) == [1, 2]  # prompt 1 has one of its two samples
    draw = drawer("omnigen2", "geneval")
    job = Job(gen_model, images, 3, 1, {"geneval": geneval})
    backend, cfg = _backend(checkout, gen_model), draw.settings(SETTINGS)
    with pytest.raises(RuntimeError, match="2 prompts without all 2 samples.*rerun the job"):
        draw.publish(backend, job, cfg, out)
    assert not out.exists()
    first = (images / "00000" / "samples" / "00000.png").read_bytes()
    resumed = _draw(checkout, gen_model, geneval, images, seed=3)
    assert resumed.returncode == 0 and "skipping generation for prompt: a photo of a bench" in resumed.stdout
    assert (images / "00000" / "samples" / "00000.png").read_bytes() == first
    uncut = tmp_path / "uncut" / "images"
    assert _draw(checkout, gen_model, geneval, uncut, seed=3).returncode == 0
    assert _digest(images) == _digest(uncut)  # resuming changes no byte
    draw.publish(backend, job, cfg, out)
    assert not images.exists() and missing_samples(out, prompts, 2) == []
    record = json.loads((out / "sgt_generation.json").read_text())
    assert record["seed"] == 3 and record["text_guidance_scale"] == 4.0 and record["num_inference_step"] == 50


def test_generate_run_draws_and_publishes_through_the_registry(
    tmp_path, checkout, gen_model, geneval, monkeypatch
):
    ran = []

    def without_torchrun(launch, log):
        ran.append(launch.argv[0])
        argv = [sys.executable, *launch.argv[4:]]
        subprocess.run(
            argv, cwd=launch.cwd, env={**os.environ, **launch.env}, check=True, capture_output=True
        )

    monkeypatch.setattr(run_module, "run_launch", without_torchrun)
    model_cfg = {
        "backend": "omnigen2",
        "model_path": str(gen_model),
        "vae_path": "v",
        "text_encoder_path": "t",
    }
    out = tmp_path / "results" / "generation" / "omnigen2" / "v" / "seed0" / "geneval" / "gseed5"
    kwargs = dict(checkout=checkout, workdir=tmp_path / "work", seed=5, settings=SETTINGS, gpus=1)
    with pytest.raises(KeyError, match=r"omnigen2/geneval needs inputs \['geneval'\]"):
        run_module.generate_run(model_cfg, "geneval", gen_model, out, tmp_path / "log", **kwargs)
    run_module.generate_run(
        model_cfg, "geneval", gen_model, out, tmp_path / "log", inputs={"geneval": geneval}, **kwargs
    )
    assert ran == ["torchrun"] and (out / "00002" / "samples" / "00001.png").is_file()
    assert json.loads((out / "sgt_generation.json").read_text())["seed"] == 5


def test_settings_are_checked():
    draw = drawer("omnigen2", "geneval")
    with pytest.raises(KeyError, match=r"eval.cluster_geneval.omnigen2: unknown keys \['steps'\]"):
        draw.settings({"steps": 50})
    with pytest.raises(ValueError, match="images_per_call 3 must divide num_images 4"):
        draw.settings({"images_per_call": 3})
    assert draw.settings({}) == OmniGen2GenEvalSettings()


def _function(source: str, name: str) -> ast.FunctionDef:
    return next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)


@pytest.mark.skipif(
    not os.environ.get("SGT_OMNIGEN2_CHECKOUT"), reason="needs an OmniGen2 checkout (SGT_OMNIGEN2_CHECKOUT)"
)
def test_the_real_inference_py_parses_our_flags_and_takes_our_arguments(tmp_path, monkeypatch):
    root = Path(os.environ["SGT_OMNIGEN2_CHECKOUT"])
    cfg = OmniGen2GenEvalSettings()
    script = root / cfg.script if (root / cfg.script).is_file() else root / "inference.py"
    source = script.read_text(encoding="utf-8")
    # upstream's own parse_args, alone (the module imports CUDA/NPU code at the top)
    module = ast.Module(
        body=[*ast.parse("import argparse").body, _function(source, "parse_args")], type_ignores=[]
    )
    namespace: dict = {}
    exec(compile(module, str(script), "exec"), namespace)
    draw = drawer("omnigen2", "geneval")
    job = Job(tmp_path / "model", tmp_path / "images", 0, 1, {"geneval": tmp_path})
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "evaluation_metadata.jsonl").write_text("{}\n")
    launch = draw.launch(_backend(root, tmp_path), job, cfg)
    monkeypatch.setattr(sys, "argv", [str(script), *upstream_flags(launch)])
    args = namespace["parse_args"]()
    assert (args.num_inference_step, args.height, args.text_guidance_scale) == (50, 1024, 4.0)
    assert args.model_path == str(tmp_path / "model") and args.num_images_per_prompt == 1
    assert args.transformer_path is None  # the transformer comes from the folder's transformer/
    assert [a.arg for a in _function(source, "load_pipeline").args.args] == [
        "args",
        "accelerator",
        "weight_dtype",
    ]
    assert [a.arg for a in _function(source, "run").args.args] == [
        "args", "accelerator", "pipeline", "instruction", "negative_prompt", "input_images"
    ]  # fmt: skip
    assert "args.seed" in ast.unparse(_function(source, "run"))  # run() seeds its generator from args.seed
