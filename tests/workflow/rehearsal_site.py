"""The CPU rehearsal's site: everything config/rehearsal.yaml leaves to the machine it runs on, built locally.

``rehearsal_site(folder)`` builds and serves, for as long as the context is open:
- a loopback HTTP mirror of COCO 2017 (a toy world packed in COCO's own zip layout and file names) and of
  VLMEvalKit's dataset TSVs (tiny stand-in TSVs);
- the stand-in Hugging Face Hub (tests/data/hub_standin.py) with two LLaVA-OneVision subsets;
- the stand-in judge (tests/eval/stand_in_judge.py);
- local git repositories for every checkout the paper config clones (stand-ins: tests/models/stand_in_bagel,
  the stand-in SGT fork of tests/models/omnigen2_checkout.py + tests/models/stand_in_omnigen2, the stand-in
  VLMEvalKit with tests/workflow/rehearsal/vlmeval_run.py as run.py, GenEval's prompt file, Step1X-Edit's
  VIEScore prompts and ELLA's DPG-Bench files), pinned to the commits built here;
- the released models' folders (stand-in files; a tiny random Qwen2.5-VL), tiny random Mask2Former/CLIP for
  GenEval scoring, a local GEdit-Bench parquet;
- ``bin/``: stand-in torchrun, accelerate and the analysis checkout's python (tests/workflow/rehearsal/).
It yields the site overlay (YAML with those URLs, commits and paths) and the environment to run Snakemake in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

TESTS = Path(__file__).resolve().parents[1]
STAND_INS = Path(__file__).resolve().parent / "rehearsal"
for sub in ("data", "eval", "models"):
    if str(TESTS / sub) not in sys.path:
        sys.path.insert(0, str(TESTS / sub))

LLAVA_REPO = "lmms-lab/LLaVA-OneVision-Data"
LLAVA_SUBSETS = {"CLEVR-Math(MathV360K)": 6, "chartqa(cauldron,llava_format)": 4}
JUDGE_KEY_ENV = "SGT_REHEARSAL_JUDGE_KEY"
# one GenEval prompt per tag, in prompts/evaluation_metadata.jsonl's format (djghosh13/geneval)
GENEVAL_PROMPTS = "".join(
    json.dumps(p) + "\n"
    for p in [
        {"tag": "single_object", "include": [{"class": "bench", "count": 1}], "prompt": "a photo of a bench"},
        {
            "tag": "two_object",
            "include": [{"class": "cat", "count": 1}, {"class": "dog", "count": 1}],
            "prompt": "a photo of a cat and a dog",
        },
        {
            "tag": "counting",
            "include": [{"class": "cat", "count": 2}],
            "exclude": [{"class": "cat", "count": 3}],
            "prompt": "a photo of two cats",
        },
        {
            "tag": "colors",
            "include": [{"class": "car", "count": 1, "color": "red"}],
            "prompt": "a photo of a red car",
        },
        {
            "tag": "position",
            "include": [
                {"class": "cat", "count": 1},
                {"class": "dog", "count": 1, "position": ["left of", 0]},
            ],
            "prompt": "a photo of a dog left of a cat",
        },
        {
            "tag": "color_attr",
            "include": [
                {"class": "cat", "count": 1, "color": "red"},
                {"class": "dog", "count": 1, "color": "blue"},
            ],
            "prompt": "a photo of a red cat and a blue dog",
        },
    ]
)


@dataclass(frozen=True)
class Site:
    overlay: Path  # the site-specific config overlay, given after config/rehearsal.yaml
    env: dict[str, str]  # PATH with the stand-in launchers, HF_ENDPOINT, the judge key


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def _serve_folder(folder: Path) -> Iterator[str]:
    """A loopback HTTP server over ``folder`` (GET/HEAD of files); yields its base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(folder)))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def git_repo(folder: Path) -> tuple[str, str]:
    """``folder`` committed as a git repository; its file:// URL and the commit."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "rehearsal",
        "GIT_AUTHOR_EMAIL": "rehearsal@localhost",
        "GIT_COMMITTER_NAME": "rehearsal",
        "GIT_COMMITTER_EMAIL": "rehearsal@localhost",
        "GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z",
        "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z",
    }
    for cmd in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "stand-in"]):
        subprocess.run(["git", *cmd], cwd=folder, env=env, check=True, capture_output=True)
    sha = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
    ).stdout.strip()
    return folder.as_uri(), sha


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), dirs_exist_ok=True)
    return dst


def _bagel_checkout(dst: Path) -> Path:
    """tests/models/stand_in_bagel with a trainer that also writes upstream's checkpoint layout, and GenEval
    prompts of every tag (Table 7's columns)."""
    _copy(TESTS / "models" / "stand_in_bagel", dst)
    (dst / "eval" / "gen" / "geneval" / "prompts" / "evaluation_metadata.jsonl").write_text(GENEVAL_PROMPTS)
    trainer = dst / "train" / "pretrain_unified_navit.py"
    head = trainer.read_text().split('if __name__ == "__main__":')[0]
    trainer.write_text(head + (STAND_INS / "bagel_trainer.tail").read_text())
    return dst


def _omnigen2_checkout(dst: Path) -> Path:
    """The SGT fork's layout (subdir OmniGen2): the preflight's stand-in, the inference stand-in, and a
    train.py that also writes a checkpoint."""
    from omnigen2_checkout import write_checkout

    sub = write_checkout(dst / "OmniGen2")
    _copy(TESTS / "models" / "stand_in_omnigen2", sub)
    train = sub / "train.py"
    head = train.read_text().split('if __name__ == "__main__":')[0]
    train.write_text(head + (STAND_INS / "omnigen2_train.tail").read_text())
    return dst


def _tsv(name: str) -> bytes:
    """A one-row stand-in TSV (VLMEvalKit's columns); the stand-in run.py only checks it is there."""
    return f"index\tquestion\tanswer\n0\tstand-in question of {name}\tA\n".encode()


def _vlmevalkit_checkout(dst: Path, tsv_base: str, tsvs: dict[str, bytes]) -> Path:
    """tests/eval/stand_in_vlmevalkit with run.py the rehearsal's stand-in and ``vlmeval/dataset/`` holding
    each dataset's class with its URL on the loopback mirror and md5, in the literal-dict form VLMEvalKit's
    own dataset modules use (what sgt.eval.vlmeval.lmudata reads without running it)."""
    from sgt.eval.vlmeval.adapter import BENCHMARKS

    _copy(TESTS / "eval" / "stand_in_vlmevalkit", dst)
    shutil.copy(STAND_INS / "vlmeval_run.py", dst / "run.py")
    dataset = dst / "vlmeval" / "dataset"
    shutil.rmtree(dataset)
    dataset.mkdir()
    (dataset / "__init__.py").write_text('"""Stand-in (rehearsal): dataset classes and URLs only."""\n')
    (dataset / "image_base.py").write_text(
        "class ImageBaseDataset:\n    MODALITY = 'IMAGE'\n    DATASET_URL = {}\n    DATASET_MD5 = {}\n"
    )
    by_class: dict[str, list[str]] = {}
    for name in tsvs:
        by_class.setdefault(BENCHMARKS[name].dataset_class, []).append(name)
    lines = ["from .image_base import ImageBaseDataset", ""]
    for cls, names in by_class.items():
        urls = {n: f"{tsv_base}/{n}.tsv" for n in names}
        md5 = {n: hashlib.md5(tsvs[n]).hexdigest() for n in names}
        lines += [
            "",
            f"class {cls}(ImageBaseDataset):",
            f"    DATASET_URL = {urls!r}",
            f"    DATASET_MD5 = {md5!r}",
        ]
    (dataset / "rehearsal_datasets.py").write_text("\n".join(lines) + "\n")
    return dst


def _small_repos(root: Path) -> dict[str, Path]:
    """GenEval's prompts, Step1X-Edit's VIEScore prompts and ELLA's DPG-Bench files, at upstream's paths."""
    from test_judges import DPG_CSV

    geneval = root / "geneval"
    (geneval / "prompts").mkdir(parents=True)
    (geneval / "prompts" / "evaluation_metadata.jsonl").write_text(GENEVAL_PROMPTS)
    step1x = root / "step1x_edit" / "GEdit-Bench" / "viescore"
    step1x.mkdir(parents=True)
    (step1x / "vie_prompts.py").write_text(
        "_context_no_delimit = 'CTX'\n_prompts_0shot_two_image_edit_rule = 'EDIT'\n"
        "_prompts_0shot_tie_rule_SC = 'SC: <instruction>'\n_prompts_0shot_rule_PQ = 'PQ'\n"
    )
    ella = root / "ella" / "dpg_bench"
    (ella / "prompts").mkdir(parents=True)
    for item in ("item1", "item2"):
        (ella / "prompts" / f"{item}.txt").write_text(f"a cat and a dog, {item}\n")
    (ella / "dpg_bench.csv").write_text(DPG_CSV)
    return {"geneval": geneval, "step1x_edit": root / "step1x_edit", "ella": root / "ella"}


def _released_models(root: Path, omnigen2_checkout: Path) -> dict[str, Path]:
    """Stand-in released folders: BAGEL-7B-MoT's file names, OmniGen2's pipeline, a tiny Qwen2.5-VL."""
    import torch
    from safetensors.torch import save_file
    from test_eval_folder import _tiny_qwen
    from test_omnigen2_geneval import _base

    from sgt.models.preflight import qwen_stand_in
    from sgt.models.preflight.tokenizer import build_stand_in_tokenizer

    bagel = root / "BAGEL-7B-MoT"
    bagel.mkdir(parents=True)
    for name in ("llm_config.json", "vit_config.json", "config.json", "tokenizer_config.json"):
        (bagel / name).write_text("{}")
    (bagel / "generation_config.json").write_text("{}")
    texts = ["a photo of a cat", "what is in the image ?", "segment the image", "answer the question"] * 50
    build_stand_in_tokenizer(texts, bagel, vocab_size=400)  # byte-level BPE: vocab.json, merges.txt
    save_file({"w": torch.zeros(2)}, bagel / "ae.safetensors")
    save_file({"stand_in.weight": torch.zeros(2, 2)}, bagel / "ema.safetensors")
    omnigen2 = _base(root)
    qwen = root / "Qwen2.5-VL-3B-Instruct"
    _tiny_qwen(0).save_pretrained(qwen)
    (qwen / "preprocessor_config.json").write_text("{}")
    # the OmniGen2 preflight's own stand-in tokenizer/processor (byte-level, the checkout's special tokens)
    qwen_stand_in.build(omnigen2_checkout / "OmniGen2", qwen)
    vae = root / "FLUX.1-dev"
    (vae / "vae").mkdir(parents=True)
    (vae / "vae" / "config.json").write_text("{}")
    return {"bagel": bagel, "omnigen2": omnigen2, "qwen": qwen, "vae": vae}


def _gedit_dataset(root: Path) -> Path:
    """GEdit-Bench's parquet layout (task_type, key, instruction, instruction_language, input_image)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from stand_in_judge import SC_REPLIES
    from test_gedit_generation import ROWS, _png

    SC_INSTRUCTIONS = [k for k in SC_REPLIES if k != "garbage"]

    data = root / "GEdit-Bench" / "data"
    data.mkdir(parents=True)
    table = pa.table(
        {
            "task_type": [t for _, t, _ in ROWS],
            "key": [k for k, _, _ in ROWS],
            # instructions the stand-in judge has SC replies for (tests/eval/stand_in_judge.py)
            "instruction": [SC_INSTRUCTIONS[i % len(SC_INSTRUCTIONS)] for i in range(len(ROWS))],
            "instruction_language": [lang for _, _, lang in ROWS],
            "input_image": [{"bytes": _png(i), "path": None} for i in range(len(ROWS))],
        }
    )
    pq.write_table(table, data / "train-00000-of-00001.parquet")
    return data.parent


def _geneval_scorers(root: Path) -> Path:
    """tests/eval/conftest.py's tiny random Mask2Former and CLIP (safetensors, with processors)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sgt_eval_conftest", TESTS / "eval" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.build_tiny_models(root)


def _llava_hub():
    from hub_standin import StandInHub
    from test_llava_hub import shard

    hub = StandInHub(LLAVA_REPO)
    files = {"README.md": b"# stand-in\n"}
    for i, (subset, n) in enumerate(LLAVA_SUBSETS.items()):
        files[f"{subset}/train-00000-of-00001.parquet"] = shard(100 * i, n + 2)
    hub.commit("1" * 40, files)
    return hub


def _coco_mirror(folder: Path, toy: Path) -> None:
    from test_acquire_offline import coco_mirror

    for rel, data in coco_mirror(toy).items():
        (folder / "coco" / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / "coco" / rel).write_bytes(data)


def _bin(folder: Path) -> Path:
    """Stand-in launchers, run with this interpreter."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("torchrun", "accelerate", "checkout_python"):
        text = (STAND_INS / name).read_text().split("\n", 1)[1]
        (folder / name).write_text(f"#!{sys.executable}\n{text}")
        (folder / name).chmod(0o755)
    (folder / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (folder / "python").chmod(0o755)
    return folder


@contextmanager
def rehearsal_site(folder: Path) -> Iterator[Site]:
    """Build the site under ``folder`` and serve it while the context is open (see the module docstring)."""
    from hub_standin import serve as serve_hub
    from stand_in_judge import serve as serve_judge

    from sgt.data.sources import COCO_2017
    from sgt.data.toyworld import ToyWorldSpec, write_toyworld
    from sgt.eval.vlmeval.adapter import BENCHMARKS

    folder = Path(folder).absolute()
    mirror = folder / "mirror"
    toy = write_toyworld(ToyWorldSpec(n_train=32, n_val=16, seed=3, width=64, height=48), folder / "toy")
    _coco_mirror(mirror, toy)
    tsvs = {name: _tsv(name) for name in BENCHMARKS}
    (mirror / "vlmeval").mkdir(parents=True)
    for name, data in tsvs.items():
        (mirror / "vlmeval" / f"{name}.tsv").write_bytes(data)
    repos = folder / "repos"
    omnigen2 = _omnigen2_checkout(repos / "SGT")
    released = _released_models(folder / "released", omnigen2)
    scorers = _geneval_scorers(folder / "hf")
    gedit = _gedit_dataset(folder)
    bin_dir = _bin(folder / "bin")
    with ExitStack() as stack:
        base = stack.enter_context(_serve_folder(mirror))
        hub = stack.enter_context(serve_hub(_llava_hub()))
        judge = stack.enter_context(serve_judge())
        checkouts = {
            "bagel": _bagel_checkout(repos / "Bagel"),
            "omnigen2": omnigen2,
            "vlmevalkit": _vlmevalkit_checkout(repos / "VLMEvalKit", f"{base}/vlmeval", tsvs),
            **_small_repos(repos),
        }
        pins = {k: dict(zip(("url", "commit"), git_repo(p), strict=True)) for k, p in checkouts.items()}
        site = {
            "data": {
                "checksums_dir": str(folder / "checksums"),
                "coco": {
                    "base_url": f"{base}/coco",
                    "archives": {k: {"md5": None, "size": None} for k in COCO_2017},
                },
            },
            "models": {
                "bagel": {"upstream": pins["bagel"], "model_path": str(released["bagel"])},
                "omnigen2": {
                    "upstream": pins["omnigen2"],
                    "model_path": str(released["omnigen2"]),
                    "vae_path": str(released["vae"]),
                    "text_encoder_path": str(released["qwen"]),
                },
            },
            "eval": {
                "vlmeval": {"upstream": pins["vlmevalkit"], "python": sys.executable},
                "cluster_geneval": {
                    "upstream": pins["geneval"],
                    "scoring": {
                        "detector_weights": str(scorers / "m2f"),
                        "clip_weights": str(scorers / "clip"),
                        "device": "cpu",
                    },
                },
                "cluster_gedit": {"dataset": str(gedit)},
                "gedit": {"upstream": pins["step1x_edit"]},
                "dpg": {"upstream": pins["ella"]},
                "judge": {
                    "base_url": judge.url,
                    "model": "stand-in-judge",
                    "api_key_env": JUDGE_KEY_ENV,
                    "retries": 0,
                },
            },
            "analysis": {"cluster": {"python": str(bin_dir / "checkout_python")}},
        }
        overlay = folder / "site.yaml"
        overlay.write_text(
            "# Written by tests/workflow/rehearsal_site.py: the rehearsal's loopback servers, local\n"
            "# stand-in repositories (file://, pinned to the commits built here), stand-in model folders.\n"
            + yaml.safe_dump(site, sort_keys=False)
        )
        env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "HF_ENDPOINT": hub.base,
            "HF_HUB_OFFLINE": "0",
            "HF_HOME": str(folder / "hf_home"),
            JUDGE_KEY_ENV: "stand-in-key",
        }
        yield Site(overlay, env)


if __name__ == "__main__":  # build a site and keep it served: python tests/workflow/rehearsal_site.py DIR
    import time

    with rehearsal_site(Path(sys.argv[1])) as running:
        print(json.dumps({"overlay": str(running.overlay), "HF_ENDPOINT": running.env["HF_ENDPOINT"]}))
        sys.stdout.flush()
        open(Path(sys.argv[1]) / "env.json", "w").write(json.dumps(running.env))
        while True:
            time.sleep(60)
