"""GEdit-Bench generation: the offline dataset cache, BAGEL's gen_images_gedit.py and OmniGen2's edit path.

CI runs stand-ins (named as such): ``stand_in_bagel/eval/gen/gedit/gen_images_gedit.py`` reads the dataset
the way datasets resolves ``load_dataset("stepfun-ai/GEdit-Bench")`` offline, and
``stand_in_omnigen2/scripts/infra/inference.py`` has upstream's signatures. With ``SGT_BAGEL_CHECKOUT`` /
``SGT_OMNIGEN2_CHECKOUT`` the real scripts' own argparse definitions accept every flag we pass.
"""

from __future__ import annotations

import ast
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from sgt.data.gedit_cache import fill_gedit_cache, parquet_files, read_gedit_index
from sgt.models.backends import get_backend
from sgt.models.backends.bagel_gedit import LOAD_LINE
from sgt.models.backends.drawing import Job, drawer
from sgt.models.backends.layouts import missing_gedit

HERE = Path(__file__).parent
ROWS = [  # (key, task_type, language)
    ("k0", "background_change", "en"),
    ("k1", "color_alter", "en"),
    ("k2", "style_change", "en"),
    ("k0", "background_change", "cn"),
    ("k1", "color_alter", "cn"),
]


def _png(value: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((6, 6, 3), value, np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture
def gedit(tmp_path):
    """A local copy of the dataset repository (GEdit-Bench's columns), then rule gedit_dataset's output."""
    repo = tmp_path / "GEdit-Bench"
    (repo / "data").mkdir(parents=True)
    table = pa.table(
        {
            "task_type": [t for _, t, _ in ROWS],
            "key": [k for k, _, _ in ROWS],
            "instruction": [f"edit {k} {lang}" for k, _, lang in ROWS],
            "instruction_language": [lang for _, _, lang in ROWS],
            "input_image": [{"bytes": _png(10 * i), "path": None} for i in range(len(ROWS))],
            "Intersection_exist": [True] * len(ROWS),
        }
    )
    pq.write_table(table, repo / "data" / "train-00000-of-00001.parquet")
    out = tmp_path / "results" / "data" / "gedit"
    assert fill_gedit_cache(str(repo), out) == len(ROWS)
    return out


def test_the_cache_keeps_the_parquet_files_in_load_order_an_index_and_the_inputs(tmp_path, gedit):
    files = parquet_files(gedit)
    assert files == [str(gedit.absolute() / "repo" / "data" / "train-00000-of-00001.parquet")]
    assert Path(files[0]).is_symlink() and Path(files[0]).is_file()
    rows = read_gedit_index(gedit)
    assert [(r["key"], r["instruction_language"]) for r in rows] == [(k, lang) for k, _, lang in ROWS]
    assert Image.open(gedit / rows[1]["image"]).getpixel((0, 0)) == (10, 10, 10)
    assert [r["key"] for r in read_gedit_index(gedit, ("cn",))] == ["k0", "k1"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="no parquet files; eval.cluster_gedit.dataset must be"):
        fill_gedit_cache(str(empty), tmp_path / "bad")
    with pytest.raises(ValueError, match="loads 'stepfun-ai/GEdit-Bench' by name"):
        fill_gedit_cache("someone/else", tmp_path / "bad")
    assert not (tmp_path / "bad").exists()


# --- BAGEL ---


@pytest.fixture
def bagel_checkout(tmp_path):
    dest = tmp_path / "Bagel"
    shutil.copytree(HERE / "stand_in_bagel", dest)
    return dest


@pytest.fixture
def eval_model(tmp_path):
    folder = tmp_path / "eval_model"
    folder.mkdir()
    for name in ("llm_config.json", "vit_config.json", "ae.safetensors", "ema.safetensors"):
        (folder / name).write_text("x")
    return folder


def _bagel(checkout, eval_model, gedit, images, gpus=2, **env):
    backend = get_backend("bagel", checkout=checkout, model_path=checkout / "unused")
    draw = drawer("bagel", "gedit")
    job = Job(eval_model, images, 0, gpus, {"gedit": gedit})
    launch = draw.launch(backend, job, draw.settings({}))
    assert launch.argv[0] == "python" and launch.env["HF_DATASETS_OFFLINE"] == "1"
    argv = [sys.executable, *launch.argv[1:]]
    done = subprocess.run(
        argv,
        cwd=launch.cwd,
        env={**os.environ, **launch.env, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done, backend, draw, job


def _digest(images: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(images.rglob("*.png")))).hexdigest()


def test_bagel_draws_every_row_in_shards_one_per_gpu(tmp_path, bagel_checkout, eval_model, gedit):
    images = tmp_path / "work" / "images"
    done, backend, draw, job = _bagel(bagel_checkout, eval_model, gedit, images)
    assert done.returncode == 0, done.stderr
    assert "on device 0" in done.stdout and "on device 1" in done.stdout
    assert missing_gedit(images, read_gedit_index(gedit)) == []
    assert (images / "fullset" / "color_alter" / "cn" / "k1_SRCIMG.png").is_file()
    out = tmp_path / "results" / "gedit"
    draw.publish(backend, job, draw.settings({}), out)
    meta = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert meta[0] == {"key": "k0", "task_type": "background_change", "instruction_language": "en",
                       "instruction": "edit k0 en"}  # fmt: skip
    assert len(meta) == len(ROWS) and json.loads((out / "sgt_generation.json").read_text())["seed"] == 42
    from sgt.eval.gedit.run import read_gedit_folder  # what score_gedit reads

    assert len(read_gedit_folder(out, "en")) == 3 and len(read_gedit_folder(out, "cn")) == 2


def test_bagel_resumes_a_cut_job_and_refuses_a_partial_folder(tmp_path, bagel_checkout, eval_model, gedit):
    images = tmp_path / "work" / "images"
    cut, backend, draw, job = _bagel(bagel_checkout, eval_model, gedit, images, SGT_STAND_IN_STOP_AFTER="1")
    assert cut.returncode != 0 and "shards [0, 1] of 2 failed" in cut.stderr
    assert len(missing_gedit(images, read_gedit_index(gedit))) == 3  # 2 rows done, one per shard
    with pytest.raises(RuntimeError, match="3 of 5 GEdit items without their images.*rerun the job"):
        draw.publish(backend, job, draw.settings({}), tmp_path / "out")
    resumed, *_ = _bagel(bagel_checkout, eval_model, gedit, images)
    assert resumed.returncode == 0 and "sample k0 already generated, skipping..." in resumed.stdout
    uncut = tmp_path / "uncut" / "images"
    assert _bagel(bagel_checkout, eval_model, gedit, uncut)[0].returncode == 0
    assert _digest(images) == _digest(uncut)


def test_a_gedit_script_without_the_one_hub_load_is_refused(tmp_path, bagel_checkout, eval_model, gedit):
    script = bagel_checkout / "eval" / "gen" / "gedit" / "gen_images_gedit.py"
    script.write_text(script.read_text().replace(LOAD_LINE, 'load_dataset("stepfun-ai/GEdit-Bench-v2")'))
    refused, *_ = _bagel(bagel_checkout, eval_model, gedit, tmp_path / "images", gpus=1)
    assert refused.returncode != 0 and f"expected '{LOAD_LINE}' once, found 0" in refused.stderr


@pytest.mark.skipif(
    not os.environ.get("SGT_BAGEL_CHECKOUT"), reason="needs a Bagel checkout (SGT_BAGEL_CHECKOUT)"
)
def test_the_real_gedit_script_parses_our_argv(tmp_path, gedit, monkeypatch):
    checkout = Path(os.environ["SGT_BAGEL_CHECKOUT"])
    cfg = drawer("bagel", "gedit").settings({})
    source = (checkout / cfg.script).read_text()
    # main()'s own argparse statements, up to its parse_args(), run on our argv (the module imports CUDA code)
    main = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == "main")
    body = []
    for stmt in main.body:
        body.append(stmt)
        if isinstance(stmt, ast.Assign) and "parse_args" in ast.unparse(stmt.value):
            break
    lines = [f"    {line}" for line in ast.unparse(body).splitlines()]
    code = "\n".join(["import argparse", "def parse():", *lines, "    return args"])
    namespace: dict = {}
    exec(compile(code, cfg.script, "exec"), namespace)
    backend = get_backend("bagel", checkout=checkout, model_path=tmp_path)
    launch = drawer("bagel", "gedit").launch(
        backend, Job(tmp_path, tmp_path / "images", 0, 8, {"gedit": gedit}), cfg
    )
    shard = ["--shard_id", "7", "--total_shards", "8", "--device", "7"]  # what the entry script adds per GPU
    monkeypatch.setattr(sys, "argv", [cfg.script, *launch.argv[2:], *shard])
    args = namespace["parse"]()
    assert (args.cfg_text_scale, args.cfg_img_scale, args.cfg_type) == (4.0, 1.5, "serial_text_img")
    assert (args.shard_id, args.total_shards, args.device, args.model_path) == (7, 8, 7, str(tmp_path))
    assert source.count(LOAD_LINE) == 1 and "seed=42" in source


# --- OmniGen2 ---


def _omnigen2(tmp_path, gedit, images, settings=None, **env):
    checkout = tmp_path / "SGT" / "OmniGen2"
    if not checkout.exists():
        shutil.copytree(HERE / "stand_in_omnigen2", checkout)
    model = tmp_path / "generation_model"
    for name in ("model_index.json", "transformer/config.json", "transformer/diffusion_pytorch_model.bin",
                 "mllm/config.json", "mllm/model.safetensors"):  # fmt: skip
        (model / name).parent.mkdir(parents=True, exist_ok=True)
        (model / name).write_text("x")
    backend = get_backend(
        "omnigen2", checkout=checkout, model_path=model, vae_path=model, text_encoder_path=model
    )
    draw = drawer("omnigen2", "gedit")
    job = Job(model, images, 0, 1, {"gedit": gedit})
    cfg = draw.settings(settings or {"height": 128, "width": 128})
    launch = draw.launch(backend, job, cfg)
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


def test_omnigen2_edits_the_english_rows_and_resumes(tmp_path, gedit):
    images = tmp_path / "work" / "images"
    cut, backend, draw, job, cfg = _omnigen2(tmp_path, gedit, images, SGT_STAND_IN_STOP_AFTER="1")
    assert cut.returncode != 0
    en = read_gedit_index(gedit, ("en",))
    assert missing_gedit(images, en) == ["k1", "k2"]
    with pytest.raises(RuntimeError, match="2 of 3 GEdit items"):
        draw.publish(backend, job, cfg, tmp_path / "out")
    done, *_ = _omnigen2(tmp_path, gedit, images)
    assert done.returncode == 0, done.stderr
    assert "sample k0 already generated, skipping..." in done.stdout and "seed 0" in done.stdout
    assert missing_gedit(images, en) == [] and not (images / "fullset" / "color_alter" / "cn").exists()
    source = images / "fullset" / "color_alter" / "en" / "k1_SRCIMG.png"
    assert Image.open(source).getpixel((0, 0)) == (10, 10, 10)  # the row's own input image
    out = tmp_path / "results" / "gedit"
    draw.publish(backend, job, cfg, out)
    assert [json.loads(line)["key"] for line in (out / "metadata.jsonl").read_text().splitlines()] == [
        "k0",
        "k1",
        "k2",
    ]
    assert json.loads((out / "sgt_generation.json").read_text())["text_guidance_scale"] == 5.0
    from sgt.eval.gedit.run import read_gedit_folder  # what score_gedit reads

    items = read_gedit_folder(out, "en")
    assert [i.key for i in items] == ["k0", "k1", "k2"] and all(i.edited.is_file() for i in items)


@pytest.mark.skipif(
    not os.environ.get("SGT_OMNIGEN2_CHECKOUT"), reason="needs an OmniGen2 checkout (SGT_OMNIGEN2_CHECKOUT)"
)
def test_the_real_inference_py_parses_our_edit_flags(tmp_path, gedit, monkeypatch):
    root = Path(os.environ["SGT_OMNIGEN2_CHECKOUT"])
    cfg = drawer("omnigen2", "gedit").settings({})
    script = root / cfg.script if (root / cfg.script).is_file() else root / "inference.py"
    source = script.read_text(encoding="utf-8")
    functions = {n.name: n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}
    module = ast.Module(body=[*ast.parse("import argparse").body, functions["parse_args"]], type_ignores=[])
    namespace: dict = {}
    exec(compile(module, str(script), "exec"), namespace)
    backend = get_backend(
        "omnigen2", checkout=root, model_path=tmp_path, vae_path=tmp_path, text_encoder_path=tmp_path
    )
    launch = drawer("omnigen2", "gedit").launch(
        backend, Job(tmp_path, tmp_path / "img", 0, 1, {"gedit": gedit}), cfg
    )
    argv = list(launch.argv)
    monkeypatch.setattr(sys, "argv", [str(script), *argv[argv.index("--model_path") :]])
    args = namespace["parse_args"]()
    assert (args.text_guidance_scale, args.image_guidance_scale, args.seed) == (5.0, 2.0, 0)
    assert [a.arg for a in functions["preprocess"].args.args] == ["input_image_path"]
