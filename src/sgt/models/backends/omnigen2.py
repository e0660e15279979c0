"""OmniGen2 (3B+4B) backend: OmniGen2's JSONL + image layout, its training YAML and ``accelerate launch``.

Training code is the SGT fork's ``OmniGen2/train.py`` (song2yu/SGT), which adds VQA SFT on top of
VectorSpaceLab/OmniGen2 and mixes the two with ``data.interleave_pattern``. Formats:

* generative pairs -> ``gen.jsonl``: ``{"task_type": <our task>, "instruction", "input_images": [<abs PNG>],
  "output_image": <abs PNG>}`` (upstream OmniGen2's record), plus ``image_id``/``source``/``target_sha256``.
  Gen records never carry an ``id`` key: the fork decides SFT vs generation by ``id`` alone.
* VQA SFT -> ``sft.jsonl``: LLaVA records ``{"id", "image": <relative to OMNIGEN2_SFT_IMAGE_ROOT>,
  "conversations": [human "<image>\\n<question>", gpt "<answer>"], "task_type": "sft"}``, one exchange
  per record: the fork's ``process_sft`` keeps only the last human and gpt turns of a conversation.
* ``data.yml``: ``data: [{path, type, ratio}]`` listing both files.

Pitfalls of the upstream code handled here (see docs/backends.md):

* ``ratio`` in the data YAML has no effect in either repository: ``_collect_annotations`` resamples into a
  loop variable that is thrown away (and scales by the *last* entry's ratio). We write ``ratio: 1.0`` for
  every entry and set the mix by record counts (within generation) and ``interleave_pattern`` (SFT vs gen).
* ``interleave_pattern`` fixes the task of each *micro*-batch; one optimizer step holds exactly the recipe's
  SFT:gen ratio only when ``gradient_accumulation_steps`` is a multiple of the pattern length, and
  ``batch_size * grad_accum * processes`` must equal ``global_batch_size`` (train.py asserts it). The fork's
  ``sft_panoptic.yml`` comments say grad_accum=3 while it sets 30. :meth:`OmniGen2Backend.layout` solves
  both or names the GPU counts that work (60 is not divisible by 8).
* The fork's ``__getitem__`` ignores ``task_type``: records with a ``text`` path under ``sam_selection`` go to
  SAM, every other record without ``id`` goes to ``process_panoptic`` (COCO panoptic targets), so its
  semantic/edge configs train on panoptic targets and upstream-format records fail and are skipped. The
  generated ``sgt_omnigen2_entry.py`` (:mod:`.omnigen2_entry`) sends records naming an ``output_image`` to a
  generation sample built the fork's way from the record itself; :func:`check_checkout` refuses a checkout
  whose ``__getitem__`` reaches neither ``process_item`` nor that ``process_panoptic``.
* The fork's sampler already gives each rank its slice, and ``accelerator.prepare`` shards the loader again:
  ranks would train different task types in the same micro-step on a quarter of the data. The entry script
  prepares the fork's loader as one process.
* ``train.py`` passes ``logger.log_with`` to ``OmegaConf.to_object``, which rejects ``None``: we write ``[]``.
* ``output_dir`` is always ``<checkout>/experiments/<name>``; :meth:`OmniGen2Backend.prepare` links it to our
  workdir and sets aside checkpoints whose save was cut off, which ``resume_from_checkpoint: latest``
  would otherwise try to load.
* The samplers drop incomplete global micro-batches and accelerate steps at the end of each epoch, so each
  stream is padded to whole optimizer steps (:meth:`Layout.stream_lengths`).
"""

from __future__ import annotations

import ast
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import yaml

from sgt.data.vqa import llava_conversation, read_jsonl, split_turns
from sgt.io import atomic_dir, atomic_write_text
from sgt.models.backend_interface import VQA_KEY, ClusterBackend, Launch, Recipe, Resources
from sgt.models.backends._export import (
    ImageStore,
    cycle_to,
    read_task_pairs,
    schedule,
    schedule_length,
    small_ratio,
    split_mix,
)
from sgt.models.backends.omnigen2_entry import ENTRY_SCRIPT, write_entry

if TYPE_CHECKING:
    from sgt.models.preflight import PreflightResult

logger = logging.getLogger(__name__)
# Recipe keys beyond lr, warmup, steps and batch_size, at their defaults (the config schema repeats them).
RECIPE_EXTRA: dict[str, Any] = {"betas": (0.9, 0.95), "weight_decay": 0.01}

DATASET_FILE = "omnigen2/dataset/omnigen2_train_dataset.py"
SAMPLER_FILE = "omnigen2/dataset/sampler.py"
ACCELERATE_FSDP = (
    "--use_fsdp",
    "--fsdp_offload_params",
    "false",
    "--fsdp_sharding_strategy",
    "HYBRID_SHARD_ZERO2",
    "--fsdp_auto_wrap_policy",
    "TRANSFORMER_BASED_WRAP",
    "--fsdp_transformer_layer_cls_to_wrap",
    "OmniGen2TransformerBlock",
    "--fsdp_state_dict_type",
    "FULL_STATE_DICT",
    "--fsdp_forward_prefetch",
    "false",
    "--fsdp_use_orig_params",
    "True",
    "--fsdp_cpu_ram_efficient_loading",
    "false",
    "--fsdp_sync_module_states",
    "True",
)
# Model architecture of OmniGen2 (options/ft.yml upstream); fine-tuning must match the checkpoint.
ARCH = {
    "patch_size": 2,
    "in_channels": 16,
    "hidden_size": 2520,
    "num_layers": 32,
    "num_refiner_layers": 2,
    "num_attention_heads": 21,
    "num_kv_heads": 7,
    "multiple_of": 256,
    "norm_eps": 1e-05,
    "axes_dim_rope": [40, 40, 40],
    "axes_lens": [10000, 10000, 10000],
    "text_feat_dim": 2048,
    "timestep_scale": 1000.0,
}


@dataclass(frozen=True, slots=True)
class Layout:
    """How a global batch is split: micro-batch per GPU, accumulation steps, and the SFT/gen pattern."""

    batch_size: int
    grad_accum: int
    processes: int
    pattern: tuple[str, ...]

    @property
    def micro_global(self) -> int:
        return self.batch_size * self.processes

    def per_step(self, stream: str) -> int:
        """Samples of ``stream`` ('gen' or 'sft') in one optimizer step."""
        return self.micro_global * self.grad_accum // len(self.pattern) * self.pattern.count(stream)

    def stream_lengths(self, natural: Mapping[str, int]) -> dict[str, int]:
        """Records per stream so that every epoch is whole optimizer steps and takes every record.

        Both samplers drop what does not fill a global micro-batch, the fork's stops at the first stream
        that cannot fill its next pattern slot, and accelerate steps the optimizer at the end of each epoch
        on whatever micro-batches it holds. With each stream a multiple of its per-step share, and all
        streams the same number of steps long (the shorter one repeated), no step is short and none dropped.
        """
        steps = max(math.ceil(n / self.per_step(s)) for s, n in natural.items())
        return {s: steps * self.per_step(s) for s in natural}


def interleave(counts: Mapping[str, int]) -> tuple[str, ...]:
    """Spread integer counts evenly ({gen: 2, sft: 1} -> gen, sft, gen)."""
    total = sum(counts.values())
    credit = dict.fromkeys(counts, 0.0)
    out = []
    for _ in range(total):
        for k in counts:
            credit[k] += counts[k] / total
        pick = max(sorted(counts), key=lambda k: credit[k])
        credit[pick] -= 1.0
        out.append(pick)
    return tuple(out)


def check_checkout(checkout: Path, *, needs_sft: bool) -> None:
    """Refuse an OmniGen2 checkout whose loader would not train on our records (read with ast, never run).

    Upstream's ``__getitem__`` sends records to ``process_item``, which reads ours. The SGT fork's sends
    every record without ``id`` to ``process_panoptic``; the entry script (:mod:`.omnigen2_entry`) reroutes
    ours, so a fork is accepted when that call and its sampler exist. VQA SFT needs the fork's
    ``process_sft``, ``interleave_pattern`` and ``TaskTypeDistributedSampler``.
    """
    path = Path(checkout) / DATASET_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not an OmniGen2 checkout; check models.omnigen2.upstream")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    cls = next(
        (n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.name == "OmniGen2TrainDataset"), None
    )
    getitem = (
        next((n for n in ast.walk(cls) if isinstance(n, ast.FunctionDef) and n.name == "__getitem__"), None)
        if cls
        else None
    )
    if getitem is None:
        raise ValueError(f"{path}: no OmniGen2TrainDataset.__getitem__; is this OmniGen2?")
    called = {
        n.func.attr
        for n in ast.walk(getitem)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
    }
    sampler = (Path(checkout) / SAMPLER_FILE).is_file()
    if "process_item" not in called and not ("process_panoptic" in called and sampler):
        raise ValueError(
            f"{path}: __getitem__ calls {sorted(called)}: neither process_item (upstream, reads our records) "
            f"nor the SGT fork's process_panoptic that {ENTRY_SCRIPT} reroutes, so records with "
            f"task_type/input_images/output_image would train on the wrong targets or be skipped; pin "
            f"VectorSpaceLab/OmniGen2 or the SGT fork (subdir OmniGen2) in models.omnigen2.upstream"
        )
    if needs_sft:
        train = (Path(checkout) / "train.py").read_text(encoding="utf-8")
        functions = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        if "interleave_pattern" not in train or "process_sft" not in functions or not sampler:
            raise ValueError(
                f"{checkout}: no VQA SFT support (process_sft / interleave_pattern / {SAMPLER_FILE}); "
                f"recipes with a 'vqa' weight need the SGT fork's OmniGen2 trainer (song2yu/SGT, subdir "
                f"OmniGen2)"
            )


@dataclass(frozen=True, slots=True)
class OmniGen2Backend(ClusterBackend):
    """OmniGen2 fine-tuning with the SGT fork's ``train.py`` under ``accelerate`` FSDP."""

    checkout: Path
    model_path: Path
    vae_path: Path
    text_encoder_path: Path
    gpus: int = 4
    nodes: int = 1
    max_micro_batch: int = 2
    num_workers: int = 6
    checkpointing_steps: int = 250
    master_port: int = 29500
    runtime_min: int = 480
    mem_mb: int = 256000
    name: ClassVar[str] = "omnigen2"
    vlmeval_class: ClassVar[str] = "Qwen2VLChat"  # vlmeval/vlm/qwen2_vl/model.py: its Qwen2.5-VL part
    own_generation_folder: ClassVar[bool] = True  # the eval folder holds the MLLM only

    def __post_init__(self) -> None:
        if self.nodes != 1:
            raise ValueError(f"omnigen2 backend: nodes={self.nodes}; only single-node runs are generated")

    def layout(self, recipe: Recipe) -> Layout:
        """Micro-batch per GPU and accumulation steps for the recipe's global batch on ``gpus * nodes``.

        ``train.py`` asserts ``batch * accum * processes == global_batch_size``, and every optimizer step
        holds the exact SFT:gen mix only when ``accum`` is a multiple of the interleave pattern's length.
        """
        vqa, gen = split_mix(recipe.mix, [k for k in recipe.mix if k != VQA_KEY])
        counts = {k: v for k, v in (("gen", sum(gen.values())), ("sft", vqa)) if v > 0}
        pattern = interleave(small_ratio(counts)) if len(counts) == 2 else (next(iter(counts)),)
        procs = self.gpus * self.nodes
        found = self._split(recipe.batch_size, procs, len(pattern))
        if found is not None:
            return Layout(*found, procs, pattern)
        works = [g for g in range(1, 17) if self._split(recipe.batch_size, g, len(pattern))]
        batches = [n for n in range(1, 4 * recipe.batch_size) if self._split(n, procs, len(pattern))]
        near = sorted(batches, key=lambda n: (abs(n - recipe.batch_size), n))[:2]
        raise ValueError(
            f"omnigen2: global batch {recipe.batch_size} cannot be split over {procs} GPUs into "
            f"micro-batches <= {self.max_micro_batch} with grad accumulation a multiple of the "
            f"{len(pattern)}-step pattern {list(pattern)}; set models.omnigen2.gpus to one of {works} "
            f"or models.omnigen2.recipe.batch_size to {' or '.join(map(str, sorted(near)))}"
        )

    def _split(self, batch: int, procs: int, cycle: int) -> tuple[int, int] | None:
        """(micro-batch, accumulation) for ``batch`` over ``procs``, the largest micro-batch first."""
        for micro in range(self.max_micro_batch, 0, -1):
            accum, rem = divmod(batch, micro * procs)
            if rem == 0 and accum > 0 and accum % cycle == 0:
                return micro, accum
        return None

    def export(
        self, shards: Mapping[str, Sequence[Path]], vqa: Path | None, recipe: Recipe, out: Path
    ) -> Path:
        vqa_weight, gen = split_mix(recipe.mix, list(shards))
        layout = self.layout(recipe)
        out = Path(out).absolute()
        entries = []
        with atomic_dir(out) as tmp:
            natural: dict[str, int] = {}
            if gen:
                pairs = read_task_pairs({t: shards[t] for t in gen})
                natural["gen"] = schedule_length(pairs, gen)
            if vqa_weight > 0:
                if vqa is None:
                    raise ValueError(f"recipe {recipe.variant!r} weights 'vqa' but no VQA JSONL was given")
                records = split_turns(read_jsonl(vqa))
                natural["sft"] = len(records)
            lengths = layout.stream_lengths(natural)
            if gen:
                stream = schedule(pairs, gen, recipe.seed, min_length=lengths["gen"])
                store = ImageStore(tmp / "images")
                lines = []
                for p in stream:
                    cond = out / store.put(p.condition_png).relative_to(tmp)
                    target = out / store.put(p.target_png).relative_to(tmp)
                    record = {
                        "task_type": p.task,
                        "instruction": p.instruction,
                        "input_images": [str(cond)],
                        "output_image": str(target),
                        "image_id": p.image_id,
                        "source": p.source,
                        "target_sha256": p.target_sha256,
                    }
                    lines.append(json.dumps(record))
                atomic_write_text(tmp / "gen.jsonl", "\n".join(lines) + "\n")
                entries.append({"path": str(out / "gen.jsonl"), "type": "gen", "ratio": 1.0})
            if vqa_weight > 0:
                store = ImageStore(tmp / "sft_images")
                sft = []
                # The fork's process_sft trains on the last human and gpt turns of a record only, so a
                # multi-turn conversation becomes one record per exchange.
                for i, rec in enumerate(records):
                    conversations = llava_conversation(rec.all_turns)
                    image = store.put_file(Path(rec.image_path)).relative_to(store.root).as_posix()
                    sft.append({"image": image, "conversations": conversations, "vqa_index": i})
                # a unique id per line, so a loader that retries another line is seen taking another record
                lines = [
                    json.dumps({"id": f"sgt-vqa-{n:06d}", **rec, "task_type": "sft"})
                    for n, rec in enumerate(cycle_to(sft, lengths["sft"]))
                ]
                atomic_write_text(tmp / "sft.jsonl", "\n".join(lines) + "\n")
                entries.append({"path": str(out / "sft.jsonl"), "type": "sft", "ratio": 1.0})
            header = (
                "# OmniGen2 data config written by sgt; 'ratio' is ignored upstream, counts set the mix.\n"
            )
            atomic_write_text(tmp / "data.yml", header + yaml.safe_dump({"data": entries}, sort_keys=False))
        logger.info("omnigen2 export %s: records per stream %s", out, lengths)
        return out

    def run_name(self, recipe: Recipe) -> str:
        """The experiment name, which upstream turns into ``<checkout>/experiments/<name>``: one per run, so
        two seeds of a variant never share a folder."""
        return f"sgt-{recipe.variant}-seed{recipe.seed}"

    def write_config(self, data_root: Path, recipe: Recipe, out: Path) -> Path:
        layout = self.layout(recipe)
        beta1, beta2 = recipe.extra.get("betas", RECIPE_EXTRA["betas"])
        data: dict[str, object] = {
            "data_path": str(Path(data_root).absolute() / "data.yml"),
            "use_chat_template": True,
            "maximum_text_tokens": 888,
            "prompt_dropout_prob": 0.0001,
            "ref_img_dropout_prob": 0.5,
            "max_output_pixels": 1048576,
            "max_input_pixels": [1048576, 1048576, 589824, 262144],
            "max_side_length": 2048,
        }
        if len(layout.pattern) > 1:
            data["interleave_pattern"] = list(layout.pattern)
        config = {
            "name": self.run_name(recipe),
            "seed": recipe.seed,
            "device_specific_seed": True,
            "workder_specific_seed": True,
            "data": data,
            "model": {
                "pretrained_vae_model_name_or_path": str(self.vae_path),
                "pretrained_text_encoder_model_name_or_path": str(self.text_encoder_path),
                "pretrained_model_path": str(self.model_path),
                "arch_opt": ARCH,
            },
            "transport": {"snr_type": "lognorm", "do_shift": True, "dynamic_time_shift": True},
            "train": {
                "global_batch_size": recipe.batch_size,
                "batch_size": layout.batch_size,
                "gradient_accumulation_steps": layout.grad_accum,
                "max_train_steps": recipe.steps,
                "dataloader_num_workers": self.num_workers,
                "learning_rate": recipe.lr,
                "scale_lr": False,
                "lr_scheduler": "timm_constant_with_warmup",
                "warmup_t": recipe.warmup,
                "warmup_lr_init": 1e-18,
                "warmup_prefix": True,
                "t_in_epochs": False,
                "use_8bit_adam": False,
                "adam_beta1": beta1,
                "adam_beta2": beta2,
                "adam_weight_decay": float(recipe.extra.get("weight_decay", RECIPE_EXTRA["weight_decay"])),
                "adam_epsilon": 1e-08,
                "max_grad_norm": 1,
                "gradient_checkpointing": True,
                "set_grads_to_none": True,
                "allow_tf32": False,
                "mixed_precision": "bf16",
                "ema_decay": 0.0,
            },
            "val": {"validation_steps": 500, "train_visualization_steps": 500},
            "logger": {
                "log_with": [],  # train.py passes it to OmegaConf.to_object, which rejects None
                "checkpointing_steps": self.checkpointing_steps,
                "checkpoints_total_limit": None,
            },
            "cache_dir": None,
            "resume_from_checkpoint": "latest",
        }
        header = f"# OmniGen2 training config for recipe {recipe.variant!r}, written by sgt.\n"
        atomic_write_text(out, header + yaml.safe_dump(config, sort_keys=False))
        return Path(out)

    def experiment_dir(self, config: Path) -> Path:
        name = yaml.safe_load(Path(config).read_text(encoding="utf-8"))["name"]
        return Path(self.checkout) / "experiments" / name

    def check_checkout_for(self, config: Path) -> None:
        """Refuse a checkout that cannot train ``config`` (:func:`check_checkout`, SFT path if it has SFT)."""
        conf = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        check_checkout(self.checkout, needs_sft=_has_sft(conf))

    def write_entry(self, workdir: Path) -> Path:
        """The entry script ``launch`` runs, written into ``workdir`` (:mod:`.omnigen2_entry`)."""
        return write_entry(workdir)

    def prepare(self, config: Path, workdir: Path) -> None:
        self.check_checkout_for(config)
        workdir = Path(workdir).absolute()
        workdir.mkdir(parents=True, exist_ok=True)
        link = self.experiment_dir(config)
        if link.is_symlink() or link.exists():
            if link.resolve() != workdir.resolve():
                raise RuntimeError(
                    f"{link} already points to {link.resolve()}, not {workdir}; two runs share a name"
                )
        else:
            link.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(workdir, link, target_is_directory=True)
        write_entry(workdir)
        for d in sorted(workdir.glob("checkpoint-*")):
            if d.is_dir() and not self._complete(d):
                aside = d.with_name(f"partial-{d.name}")
                logger.warning("%s: save was cut off; moved to %s so 'latest' skips it", d, aside.name)
                os.replace(d, aside)

    def launch(self, config: Path, recipe: Recipe, workdir: Path) -> Launch:
        conf = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
        data_root = Path(conf["data"]["data_path"]).parent
        argv = (
            "accelerate",
            "launch",
            f"--num_machines={self.nodes}",
            "--machine_rank=0",
            f"--num_processes={self.gpus * self.nodes}",
            "--main_process_ip=127.0.0.1",
            f"--main_process_port={self.master_port}",
            *ACCELERATE_FSDP,
            str(Path(workdir).absolute() / ENTRY_SCRIPT),
            "--config",
            str(Path(config).absolute()),
        )
        env = {
            "OMNIGEN2_SFT_IMAGE_ROOT": str(data_root / "sft_images"),
            "OMNIGEN2_QWEN_PROCESSOR_PATH": str(self.text_encoder_path),
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "WANDB_MODE": "disabled",
            "WANDB_DISABLED": "true",
        }
        resources = Resources(self.gpus, self.nodes, self.runtime_min, self.mem_mb)
        return Launch(argv, env, resources, cwd=Path(self.checkout))

    def preflight(
        self, config: Path, recipe: Recipe, workdir: Path, log: Path | None = None
    ) -> PreflightResult:
        """The checkout's train.py config handling, dataset, collator and sampler on our export (CPU)."""
        from sgt.models.preflight.omnigen2 import run

        return run(self, config, recipe, workdir, log)

    def _complete(self, ckpt: Path) -> bool:
        """accelerate's save_state writes ``random_states_<rank>.pkl`` after the weights and optimizer."""
        return all((ckpt / f"random_states_{i}.pkl").is_file() for i in range(self.gpus * self.nodes))

    def eval_folder(self, handoff: Path | None, out: Path) -> dict[str, str]:
        """The fine-tuned Qwen2.5-VL in its base folder's layout (``Qwen2VLChat``): OmniGen2 understands
        images with its MLLM alone, and the SGT fork trains that MLLM. Without a run: the Qwen2.5-VL OmniGen2
        was built on, as released (upstream OmniGen2 keeps it frozen)."""
        from sgt.models.backends.eval_folder import qwen25vl_eval_folder, released_qwen25vl_folder

        if handoff is None:
            return released_qwen25vl_folder(self.text_encoder_path, out)
        return qwen25vl_eval_folder(self.text_encoder_path, self.handoff_checkpoint(handoff), out)

    def generation_folder(self, handoff: Path | None, eval_folder: Path, out: Path) -> dict[str, str]:
        """The released pipeline folder with the run's transformer and fine-tuned MLLM (inference.py);
        without a run, the released pipeline folder alone."""
        from sgt.models.backends.generation_folder import (
            omnigen2_generation_folder,
            released_omnigen2_folder,
        )

        if handoff is None:
            return released_omnigen2_folder(self.model_path, out)
        return omnigen2_generation_folder(self.model_path, self.handoff_checkpoint(handoff), eval_folder, out)

    def checkpoint(self, workdir: Path) -> Path | None:
        done = [
            d
            for d in Path(workdir).glob("checkpoint-*")
            if d.is_dir() and d.name.split("-", 1)[1].isdigit() and self._complete(d)
        ]
        return max(done, key=lambda d: int(d.name.split("-", 1)[1]), default=None)


def _has_sft(conf: Mapping[str, object]) -> bool:
    data_yml = Path(conf["data"]["data_path"])  # type: ignore[index]
    if not data_yml.is_file():
        return False
    return any(e.get("type") == "sft" for e in yaml.safe_load(data_yml.read_text(encoding="utf-8"))["data"])
