"""BAGEL (7B+7B MoT) backend: BAGEL's parquet/JSONL formats, dataset YAML, and its ``torchrun`` trainer.

Formats follow ByteDance-Seed/Bagel at the pinned commit:

* generative pairs -> ``unified_edit`` parquet: ``image_list`` (list<binary>: [condition PNG, target PNG])
  and ``instruction_list`` (list<list<string>>: phrasings per transition), plus a ``parquet_info`` JSON
  ``{"<data_dir>/<file>.parquet": {"num_row_groups": G, "num_rows": N}}`` keyed by the exact path the loader
  builds with ``os.path.join(data_dir, name)``. We add ``task``/``image_id``/``source``/``*_sha256`` columns
  (the loader ignores them) so the task and the target of every row can be checked.
* VQA SFT -> ``vlm_sft`` LLaVA JSONL ``{"id", "image": <relative to data_dir>, "conversations": [...]}``
  holding the record's whole conversation (``data/vlm_dataset.py`` reads multi-turn records): human turns
  alternate with gpt turns, the first ``"<image>\n<question>"``.
* ``dataset_info.json``: the ``DATASET_INFO`` entries for both; upstream keeps that table in Python
  (``data/dataset_info.py``), so a generated entry script fills it before running the trainer.

Pitfalls of the upstream code handled here (see docs/backends.md):

* Group ``weight``s are sampling probabilities *after* one sample of every ``is_mandatory`` group opens each
  packed batch; :func:`group_weights` corrects for that so the expected per-batch mix is the recipe's.
* Every group must be mandatory: a packed batch without a CE target trips ``assert not visual_und`` and one
  without an MSE target fails on ``padded_images``. Generation-only recipes (Table 6) have no CE target at
  all; the entry script compiles the trainer without that one assert, as the SGT fork does
  (``BAGEL/train/pretrain_unified_navit.py:692`` there), and checks that it occurs exactly once.
* The loader splits row groups (parquet) and lines (JSONL) over ranks x workers and a worker with none spins
  forever, so both are repeated up to at least ``gpus * num_workers``.
* ``instruction_list`` entries must be lists: ``random.choice`` on a bare string picks one character.
* ``pretrain_unified_navit.py`` hardcodes AdamW ``weight_decay=0``; the entry script applies the paper's 0.01.
* ``--auto_resume`` picks the highest-numbered step folder even if its save was killed half-way; we resolve
  the newest *complete* checkpoint ourselves and pass it as ``--resume_from``.
* A ``--resume_from`` path that does not exist makes upstream silently train from scratch, so the entry
  script checks it first.
* The SGT fork's per-task dataset classes (``BAGEL/data/{semantic,edge,...}.py``) put the input RGB where the
  loss image belongs until commit e0045481 ("supervise vae_image on task target instead of input RGB"), i.e.
  seg/edge trained on reconstruction. We use upstream's ``unified_edit`` reader, whose loss image is
  ``image_list[-1]``, and the tests check that it is each row's target.
* The fork's README says Seg:VQA = 2:1 but its ``high_mixed_sam.yaml`` sets ``sam190k: 1`` vs
  ``vlm_sft: 5.0``; we take the ratio from our recipe (paper Fig. 5a: VQA:seg = 1:2), not from either file.
* BAGEL batches are packed by tokens, not samples: the paper's global batch of 60 is met on average by
  ``expected_num_tokens = batch / gpus * tokens_per_sample``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sgt.data.vqa import llava_conversation, read_jsonl
from sgt.io import atomic_dir, atomic_write_json, atomic_write_text, read_json, read_parquet
from sgt.models.backend_interface import ClusterBackend, Launch, Recipe, Resources
from sgt.models.backends._export import ImageStore, read_task_pairs, repeat_to, schedule, split_mix

if TYPE_CHECKING:
    from sgt.models.preflight import PreflightResult

logger = logging.getLogger(__name__)
# Recipe keys beyond lr, warmup, steps and batch_size, at their defaults (the config schema repeats them).
RECIPE_EXTRA: dict[str, Any] = {"betas": (0.9, 0.95), "weight_decay": 0.01, "lr_scheduler": "constant"}

EDIT_GROUP, VQA_GROUP = "unified_edit", "vlm_sft"
EDIT_NAME, VQA_NAME = "sgt_pairs", "sgt_vqa"
EDIT_SCHEMA = pa.schema(
    [
        ("image_list", pa.list_(pa.binary())),
        ("instruction_list", pa.list_(pa.list_(pa.string()))),
        ("task", pa.string()),
        ("image_id", pa.int64()),
        ("source", pa.string()),
        ("condition_sha256", pa.string()),
        ("target_sha256", pa.string()),
    ]
)
# Transforms from upstream data/configs/example.yaml (edit: VAE 512-1024 stride 16, ViT 224-518 stride 14).
EDIT_TRANSFORMS = {
    "image_transform_args": {"image_stride": 16, "max_image_size": 1024, "min_image_size": 512},
    "vit_image_transform_args": {"image_stride": 14, "max_image_size": 518, "min_image_size": 224},
}
VQA_TRANSFORMS = {
    "image_transform_args": {
        "image_stride": 14,
        "max_image_size": 980,
        "min_image_size": 378,
        "max_pixels": 2_007_040,
    },
    "frame_sampler_args": {"max_num_frames": 12, "min_num_frames": 8},
}
ENTRY_SCRIPT = "sgt_bagel_entry.py"
INFO_PREFIX = "# dataset_info: "
ENTRY_TEMPLATE = '''\
"""Written by sgt (docs/backends.md): run BAGEL's trainer with our DATASET_INFO and AdamW weight decay."""
import json
import os
import sys


def install_dataset_info(path):
    """Fill upstream's DATASET_INFO from our dataset_info.json (the preflight calls this too)."""
    with open(path, encoding="utf-8") as fh:
        info = json.load(fh)
    import data.dataset_info as dataset_info  # dataset_base imports this same dict

    dataset_info.DATASET_INFO.clear()
    dataset_info.DATASET_INFO.update(info)


NO_CE_ASSERT = "assert not training_args.visual_und"


def trainer_code(path, allow_no_ce):
    """The trainer compiled from its own file; a generation-only recipe drops the one assert that wants a CE
    target in every batch while the ViT reads the condition (the SGT fork comments it out)."""
    with open(path, encoding="utf-8") as fh:
        source = fh.read()
    if allow_no_ce:
        found = source.count(NO_CE_ASSERT)
        if found != 1:
            sys.exit(f"{path}: expected '{NO_CE_ASSERT}' once, found {found}; not the pinned trainer")
        source = source.replace(NO_CE_ASSERT, "pass  # sgt: generation-only recipe, no CE target")
    return compile(source, path, "exec")


def main():
    checkout = os.getcwd()
    sys.path.insert(0, checkout)
    install_dataset_info(os.environ["SGT_BAGEL_DATASET_INFO"])
    if "--resume_from" in sys.argv:
        resume = sys.argv[sys.argv.index("--resume_from") + 1]
        if not os.path.isdir(resume):
            sys.exit(f"--resume_from {resume} does not exist; upstream would silently train from scratch")
    weight_decay = float(os.environ.get("SGT_BAGEL_WEIGHT_DECAY", "0"))
    if weight_decay:
        import torch

        class _AdamW(torch.optim.AdamW):
            def __init__(self, params, **kwargs):
                kwargs["weight_decay"] = weight_decay
                super().__init__(params, **kwargs)

        torch.optim.AdamW = _AdamW
    sys.argv[0] = os.path.join(checkout, "train", "pretrain_unified_navit.py")
    code = trainer_code(sys.argv[0], os.environ.get("SGT_BAGEL_NO_CE") == "1")
    exec(code, {"__name__": "__main__", "__file__": sys.argv[0], "__builtins__": __builtins__})


if __name__ == "__main__":
    main()
'''


def group_weights(shares: Mapping[str, float], samples_per_batch: float) -> dict[str, float]:
    """Group weights giving expected per-batch shares when each group is mandatory.

    Upstream opens each packed batch with one sample of every mandatory group, then draws the rest with
    probability ``weight / sum(weights)``. With ``n`` samples a batch and ``k`` groups, group ``i`` gets
    ``1 + (n - k) * p_i`` samples; solving for share ``s_i`` gives ``p_i = (s_i * n - 1) / (n - k)``.
    """
    k, n = len(shares), samples_per_batch
    total = sum(shares.values())
    if k == 1:
        return {name: 1.0 for name in shares}
    if n <= k:
        raise ValueError(f"a packed batch of {n:g} samples cannot hold one of each of {k} mandatory groups")
    weights = {}
    for name, share in shares.items():
        s = share / total
        if s * n < 1:
            raise ValueError(
                f"group {name!r}: share {s:.3f} of {n:g} samples per rank batch is below the one mandatory "
                f"sample; raise the recipe batch_size or use fewer GPUs"
            )
        weights[name] = round((s * n - 1) / (n - k), 6)
    return weights


@dataclass(frozen=True, slots=True)
class BagelBackend(ClusterBackend):
    """BAGEL fine-tuning with upstream ``train/pretrain_unified_navit.py`` (FSDP HYBRID_SHARD, one node)."""

    checkout: Path
    model_path: Path
    gpus: int = 8
    nodes: int = 1
    num_workers: int = 1
    tokens_per_sample: int = 2400
    max_num_tokens_per_sample: int = 16384
    save_every: int = 1000
    max_rows_per_group: int = 64
    master_port: int = 29500
    runtime_min: int = 1440
    mem_mb: int = 256000
    preflight_batches: int = 40
    name: ClassVar[str] = "bagel"
    vlmeval_class: ClassVar[str] = "Bagel"  # vlmeval/vlm/bagel_umm.py at VLMEvalKit e8e78f05

    def __post_init__(self) -> None:
        if self.nodes != 1:
            raise ValueError(
                f"bagel backend: nodes={self.nodes}; only single-node torchrun is generated (the paper's "
                f"runs fit one 8-GPU node); set models.bagel.nodes: 1"
            )
        if self.gpus < 1:
            raise ValueError(f"bagel backend: gpus={self.gpus}; training needs at least one GPU")

    @property
    def min_units(self) -> int:
        """Row groups / JSONL lines each source needs so no rank's worker is left without data."""
        return self.gpus * self.nodes * self.num_workers

    def export(
        self, shards: Mapping[str, Sequence[Path]], vqa: Path | None, recipe: Recipe, out: Path
    ) -> Path:
        vqa_weight, gen = split_mix(recipe.mix, list(shards))
        out = Path(out).absolute()
        info: dict[str, dict[str, dict[str, object]]] = {}
        manifest: dict[str, object] = {"mix": dict(recipe.mix), "seed": recipe.seed}
        with atomic_dir(out) as tmp:
            if gen:
                pairs = read_task_pairs({t: shards[t] for t in gen})
                stream = schedule(pairs, gen, recipe.seed, min_length=self.min_units)
                info[EDIT_GROUP] = {EDIT_NAME: self._write_edit(stream, out, tmp)}
                manifest["pairs"] = {t: len(p) for t, p in pairs.items()}
                manifest["rows"] = {t: sum(p.task == t for p in stream) for t in gen}
            if vqa_weight > 0:
                if vqa is None:
                    raise ValueError(f"recipe {recipe.variant!r} weights 'vqa' but no VQA JSONL was given")
                info[VQA_GROUP] = {VQA_NAME: self._write_vqa(read_jsonl(vqa), out, tmp)}
                manifest["vqa_lines"] = info[VQA_GROUP][VQA_NAME]["num_total_samples"]
            atomic_write_json(tmp / "dataset_info.json", info)
            atomic_write_json(tmp / "manifest.json", manifest)
        logger.info("bagel export %s: %s", out, manifest)
        return out

    def _write_edit(self, stream: Sequence, final: Path, tmp: Path) -> dict[str, object]:
        name = "part-00000.parquet"
        (tmp / "edit").mkdir()
        n_groups = max(self.min_units, math.ceil(len(stream) / self.max_rows_per_group))
        bounds = [round(i * len(stream) / n_groups) for i in range(n_groups + 1)]
        with pq.ParquetWriter(tmp / "edit" / name, EDIT_SCHEMA, compression="zstd") as writer:
            for lo, hi in zip(bounds, bounds[1:], strict=False):
                rows = stream[lo:hi]
                table = pa.table(
                    {
                        "image_list": [[p.condition_png, p.target_png] for p in rows],
                        "instruction_list": [[[p.instruction]] for p in rows],
                        "task": [p.task for p in rows],
                        "image_id": [p.image_id for p in rows],
                        "source": [p.source for p in rows],
                        "condition_sha256": [p.condition_sha256 for p in rows],
                        "target_sha256": [p.target_sha256 for p in rows],
                    },
                    schema=EDIT_SCHEMA,
                )
                writer.write_table(table, row_group_size=len(rows))
        data_dir = final / "edit"
        parquet_info = {str(data_dir / name): {"num_row_groups": n_groups, "num_rows": len(stream)}}
        atomic_write_json(tmp / "parquet_info.json", parquet_info)
        return {
            "data_dir": str(data_dir),
            "num_files": 1,
            "num_total_samples": len(stream),
            "parquet_info_path": str(final / "parquet_info.json"),
        }

    def _write_vqa(self, records: Sequence, final: Path, tmp: Path) -> dict[str, object]:
        store = ImageStore(tmp / "vqa" / "images")
        lines = []
        for i, rec in enumerate(records):
            image = store.put_file(Path(rec.image_path)).relative_to(store.root).as_posix()
            conversations = llava_conversation(rec.all_turns)  # whole: BAGEL's SFT reader is multi-turn
            record = {"id": f"sgt-vqa-{i:06d}", "image": image, "conversations": conversations}
            lines.append(json.dumps(record))
        lines = repeat_to(lines, self.min_units)
        atomic_write_text(tmp / "vqa" / "data.jsonl", "\n".join(lines) + "\n")
        return {
            "data_dir": str(final / "vqa" / "images"),
            "jsonl_path": str(final / "vqa" / "data.jsonl"),
            "num_total_samples": len(lines),
        }

    def samples_per_rank_batch(self, recipe: Recipe) -> float:
        return recipe.batch_size / (self.gpus * self.nodes)

    def write_config(self, data_root: Path, recipe: Recipe, out: Path) -> Path:
        info = read_json(Path(data_root) / "dataset_info.json")
        vqa_weight, gen = split_mix(recipe.mix, list(recipe.mix))
        shares = {}
        if VQA_GROUP in info:
            shares[VQA_GROUP] = vqa_weight
        if EDIT_GROUP in info:
            shares[EDIT_GROUP] = sum(gen.values())
        weights = group_weights(shares, self.samples_per_rank_batch(recipe))
        config: dict[str, object] = {}
        if EDIT_GROUP in shares:
            config[EDIT_GROUP] = {
                "dataset_names": [EDIT_NAME],
                **EDIT_TRANSFORMS,
                "is_mandatory": True,
                "num_used_data": [info[EDIT_GROUP][EDIT_NAME]["num_files"]],
                "weight": weights[EDIT_GROUP],
            }
        if VQA_GROUP in shares:
            config[VQA_GROUP] = {
                "dataset_names": [VQA_NAME],
                **VQA_TRANSFORMS,
                "is_mandatory": True,
                "shuffle_lines": True,
                "shuffle_seed": recipe.seed,
                "num_used_data": [info[VQA_GROUP][VQA_NAME]["num_total_samples"]],
                "weight": weights[VQA_GROUP],
            }
        header = (
            f"# BAGEL dataset config for recipe {recipe.variant!r}, written by sgt.\n"
            f"# Per-batch shares {shares} with one mandatory sample per group and "
            f"{self.samples_per_rank_batch(recipe):g} samples per rank batch.\n"
            f"{INFO_PREFIX}{Path(data_root).absolute() / 'dataset_info.json'}\n"
        )
        atomic_write_text(out, header + yaml.safe_dump(config, sort_keys=False))
        return Path(out)

    def prepare(self, config: Path, workdir: Path) -> None:
        for sub in ("checkpoints", "logs"):
            (Path(workdir) / sub).mkdir(parents=True, exist_ok=True)
        atomic_write_text(Path(workdir) / ENTRY_SCRIPT, ENTRY_TEMPLATE)

    def launch(self, config: Path, recipe: Recipe, workdir: Path) -> Launch:
        workdir, config = Path(workdir).absolute(), Path(config).absolute()
        groups = yaml.safe_load(config.read_text(encoding="utf-8"))
        info_path = _dataset_info_path(config)
        resume = self.checkpoint(workdir)
        expected = math.ceil(self.samples_per_rank_batch(recipe) * self.tokens_per_sample)
        wd = float(recipe.extra.get("weight_decay", RECIPE_EXTRA["weight_decay"]))
        beta1, beta2 = recipe.extra.get("betas", RECIPE_EXTRA["betas"])
        args = {
            "model_path": str(self.model_path),
            "dataset_config_file": str(config),
            "layer_module": "Qwen2MoTDecoderLayer",
            "max_latent_size": 64,
            "finetune_from_hf": True,
            "auto_resume": False,
            "resume_from": str(resume or self.model_path),
            "resume_model_only": resume is None,
            "finetune_from_ema": resume is None,
            "results_dir": str(workdir / "logs"),
            "checkpoint_dir": str(workdir / "checkpoints"),
            "visual_gen": EDIT_GROUP in groups,
            "visual_und": True,
            "freeze_vae": True,
            "freeze_vit": False,
            "freeze_llm": False,
            "freeze_und": False,
            "use_flex": True,
            "lr": recipe.lr,
            "lr_scheduler": recipe.extra.get("lr_scheduler", RECIPE_EXTRA["lr_scheduler"]),
            "warmup_steps": recipe.warmup,
            "total_steps": recipe.steps,
            "beta1": beta1,
            "beta2": beta2,
            "expected_num_tokens": expected,
            "max_num_tokens": expected + self.max_num_tokens_per_sample,
            "max_num_tokens_per_sample": self.max_num_tokens_per_sample,
            "num_workers": self.num_workers,
            "data_seed": recipe.seed,
            "global_seed": recipe.seed,
            "save_every": self.save_every,
            "log_every": 10,
            "sharding_strategy": "HYBRID_SHARD",
            "num_shard": self.gpus,
            "num_replicate": self.nodes,
            "wandb_offline": True,
            "wandb_name": recipe.variant,
        }
        argv = [
            "torchrun",
            f"--nnodes={self.nodes}",
            "--node_rank=0",
            f"--nproc_per_node={self.gpus}",
            "--master_addr=127.0.0.1",
            f"--master_port={self.master_port}",
            str(workdir / ENTRY_SCRIPT),
        ]
        for key, value in args.items():
            argv += [f"--{key}", str(value)]
        env = {
            "PYTHONPATH": str(self.checkout),
            "SGT_BAGEL_DATASET_INFO": info_path,
            "SGT_BAGEL_WEIGHT_DECAY": repr(wd),
            "SGT_BAGEL_NO_CE": "0" if VQA_GROUP in groups else "1",
            "WANDB_MODE": "offline",
            "TOKENIZERS_PARALLELISM": "false",
        }
        resources = Resources(self.gpus, self.nodes, self.runtime_min, self.mem_mb)
        return Launch(tuple(argv), env, resources, cwd=Path(self.checkout))

    def preflight(
        self, config: Path, recipe: Recipe, workdir: Path, log: Path | None = None
    ) -> PreflightResult:
        """Upstream's PackedDataset on the export, through the entry script's dataset table and our flags.

        A first pass measures the real tokens per sample; when the packed batch misses the recipe's global
        batch by more than 5 %, ``tokens_per_sample`` is derived from it and the check runs again (at most
        twice). The derived value is handed to the launch as a ``launch_options`` figure.
        """
        from sgt.models.preflight import PreflightResult, within
        from sgt.models.preflight.bagel import (
            BATCH_TOLERANCE,
            bagel_findings,
            derive_tokens_per_sample,
            figures,
        )
        from sgt.models.preflight.bagel import samples_per_batch as measured_samples
        from sgt.models.preflight.common import probe_session
        from sgt.models.preflight.tokenizer import build_stand_in_tokenizer, has_tokenizer

        workdir, config = Path(workdir).absolute(), Path(config).absolute()
        self.prepare(config, workdir)  # the same entry script the training job runs
        info = _dataset_info_path(config)
        stand_ins: list[str] = []
        tokenizer = Path(self.model_path)
        if not has_tokenizer(tokenizer):
            tokenizer = build_stand_in_tokenizer(_export_texts(info), workdir / "stand_in_tokenizer")
            stand_ins.append(f"tokenizer (byte-level BPE of the export's texts; {self.model_path} has none)")
        target = self.samples_per_rank_batch(recipe)
        backend: BagelBackend = self
        env = dict(self.launch(config, recipe, workdir).env)  # tokens_per_sample changes flags, not the env
        args = ["--entry", str(workdir / ENTRY_SCRIPT), "--dataset-info", info, "--tokenizer", str(tokenizer)]
        args += ["--world-size", str(self.gpus * self.nodes), "--batches", str(self.preflight_batches)]
        # one probe process for every pass: upstream's modules are imported once
        probe = "sgt.models.preflight.bagel_probe"
        with probe_session(probe, args, checkout=self.checkout, env=env, log=log) as (session, used):
            for attempt in range(1, 4):
                launch = backend.launch(config, recipe, workdir)
                if dict(launch.env) != env:
                    raise RuntimeError("bagel preflight: the launch environment changed between passes")
                flags = list(launch.argv[launch.argv.index(str(workdir / ENTRY_SCRIPT)) + 1 :])
                flags_file = workdir / f"flags-{attempt}.json"
                atomic_write_json(flags_file, flags)
                logger.info("bagel preflight pass %d: %s", attempt, flags_file)
                stats = session.run({"flags": str(flags_file)})
                if within(measured_samples(stats), target, BATCH_TOLERANCE) or attempt == 3:
                    break
                tokens = derive_tokens_per_sample(stats, target)
                logger.info(
                    "bagel preflight pass %d: %.2f samples a rank batch, not %.2f; "
                    "tokens_per_sample %d -> %d",
                    attempt, measured_samples(stats), target, backend.tokens_per_sample, tokens,
                )  # fmt: skip
                if tokens == backend.tokens_per_sample:
                    break  # the same flags again: the seeded probe would pack the same batches
                backend = dataclasses.replace(backend, tokens_per_sample=tokens)
        findings = bagel_findings(stats, recipe.mix, recipe.batch_size)
        return PreflightResult(
            tuple(findings),
            figures(stats, attempt, backend.tokens_per_sample),
            tuple(stand_ins + [f"{m} (does not import here)" for m in used]),
        )

    def eval_folder(self, handoff: Path | None, out: Path) -> dict[str, str]:
        """The released model's configs, VAE and tokenizer linked beside the run's EMA weights (``Bagel``);
        without a run, beside the released ``ema.safetensors``."""
        from sgt.models.backends.eval_folder import bagel_eval_folder

        weights = self.model_path if handoff is None else self.handoff_checkpoint(handoff)
        return bagel_eval_folder(self.model_path, weights, out)

    def training_metrics(self, log_text: str) -> list[dict[str, float]]:
        """The trainer's ``(step=N) Train Loss ce: x, Train Loss mse: y, ...`` lines (train/
        pretrain_unified_navit.py, every log_every steps); ``ce`` is the VQA answers' loss (Fig. 6), ``mse``
        the generation loss. A step logged twice (rank 0 prints and logs it; a resumed run repeats) keeps its
        last line."""
        return bagel_training_metrics(log_text)

    def checkpoint(self, workdir: Path) -> Path | None:
        """The highest step folder holding both weights, the scheduler and every optimizer shard."""
        root = Path(workdir) / "checkpoints"
        if not root.is_dir():
            return None
        done = [d for d in root.iterdir() if d.is_dir() and d.name.isdigit() and _complete(d)]
        return max(done, key=lambda d: int(d.name), default=None)


STEP_LINE = re.compile(r"\(step=(\d+)\) (.*)")
LOSS_ITEM = re.compile(r"Train Loss (\w+): ([-+0-9.eE]+|nan|inf)")


def bagel_training_metrics(log_text: str) -> list[dict[str, float]]:
    """``metrics.csv`` rows (step, loss_vqa, loss_mse) from BAGEL's training log; see ``training_metrics``."""
    by_step: dict[int, dict[str, float]] = {}
    for line in log_text.splitlines():
        m = STEP_LINE.search(line)
        if m is None:
            continue
        losses = dict(LOSS_ITEM.findall(m.group(2)))
        if "ce" in losses or "mse" in losses:
            by_step[int(m.group(1))] = {
                "step": int(m.group(1)),
                "loss_vqa": float(losses.get("ce", "nan")),
                "loss_mse": float(losses.get("mse", "nan")),
            }
    return [by_step[k] for k in sorted(by_step)]


def _dataset_info_path(config: Path) -> str:
    """The dataset_info.json named in the config's header; an extra YAML key would be read as a group."""
    for line in config.read_text(encoding="utf-8").splitlines():
        if line.startswith(INFO_PREFIX):
            return line.removeprefix(INFO_PREFIX)
    raise ValueError(
        f"{config}: no '{INFO_PREFIX}' header line; regenerate it with BagelBackend.write_config"
    )


def _export_texts(dataset_info: str) -> list[str]:
    """Instructions and conversation turns of an export: what a stand-in tokenizer is trained on."""
    info = read_json(dataset_info)
    texts: list[str] = []
    for entry in info.get(EDIT_GROUP, {}).values():
        for path in Path(entry["data_dir"]).glob("*.parquet"):
            for row in read_parquet(path, columns=["instruction_list"]).column(0).to_pylist():
                texts += [p for phrasings in row for p in phrasings]
    for entry in info.get(VQA_GROUP, {}).values():
        for line in Path(entry["jsonl_path"]).read_text(encoding="utf-8").splitlines():
            texts += [t["value"] for t in json.loads(line)["conversations"]]
    return texts


def _complete(step_dir: Path) -> bool:
    if not all((step_dir / f).is_file() for f in ("model.safetensors", "ema.safetensors", "scheduler.pt")):
        return False
    shards = [
        m
        for f in step_dir.glob("optimizer.*-of-*.pt")
        if (m := re.match(r"optimizer\.(\d+)-of-(\d+)\.pt", f.name))
    ]
    return bool(shards) and len(shards) == int(shards[0].group(2))
