"""OmniGen2 preflight: run :mod:`.omnigen2_probe` in the checkout, then judge what it saw against the recipe.

The judges are pure functions of the probe's facts, so each invariant is unit-tested without a checkout.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from sgt.models.backend_interface import VQA_KEY, Recipe
from sgt.models.preflight.common import Finding, PreflightResult, run_probe, within

if TYPE_CHECKING:
    from sgt.models.backends.omnigen2 import OmniGen2Backend

PROBE = "sgt.models.preflight.omnigen2_probe"
DATASET = "omnigen2/dataset/omnigen2_train_dataset.py"
SAMPLER = "omnigen2/dataset/sampler.py"
BATCH_TOLERANCE = 0.05  # samples per optimizer step vs the recipe's global batch
MIX_TOLERANCE = 0.05  # SFT share per optimizer step vs the recipe's, absolute


def run(
    backend: OmniGen2Backend,
    config: Path,
    recipe: Recipe,
    workdir: Path,
    log: Path | None = None,
    *,
    steps: int = 2,
    python: str | None = None,
) -> PreflightResult:
    """The checkout's loaders on the export ``config`` names, judged; see :mod:`.omnigen2_probe`.

    The backend's own checks and entry script come through ``backend`` (backends call their preflight, so
    the preflight does not import the backends)."""
    from sgt.models.preflight import qwen_stand_in

    backend.check_checkout_for(config)
    workdir = Path(workdir).absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    stand_ins: list[str] = []
    tokenizer = Path(backend.text_encoder_path)
    if not qwen_stand_in.has_tokenizer(tokenizer):
        tokenizer = qwen_stand_in.build(backend.checkout, workdir / "qwen_stand_in")
        stand_ins.append("qwen2.5-vl tokenizer/processor (byte-level, checkout's special tokens)")
    env = dict(backend.launch(config, recipe, workdir).env)
    env["OMNIGEN2_QWEN_PROCESSOR_PATH"] = str(tokenizer)
    args = [
        "--config",
        str(Path(config).absolute()),
        "--processes",
        str(backend.gpus * backend.nodes),
        "--steps",
        str(steps),
        "--entry",
        str(backend.write_entry(workdir)),
        "--tokenizer",
        str(tokenizer),
        "--scratch",
        str(workdir / "train_output"),
    ]
    extra = {"python": python} if python else {}
    facts, used = run_probe(PROBE, args, checkout=backend.checkout, env=env, log=log, **extra)
    plain = yaml.safe_load(Path(config).read_text(encoding="utf-8"))
    findings = judge_facts(facts, recipe, plain)
    return PreflightResult(tuple(findings), figures(facts, recipe), tuple([*used, *stand_ins]))


def recipe_sft_share(recipe: Recipe) -> float:
    total = sum(v for v in recipe.mix.values() if v > 0)
    return float(recipe.mix.get(VQA_KEY, 0.0)) / total


def _lookup(tree: Any, key: str) -> Any:
    for part in key.split("."):
        tree = tree[int(part)] if isinstance(tree, list) else tree[part]
    return tree


def _same(a: Any, b: Any) -> bool:
    """Equal with the same types all the way down (1 vs 1.0 and [..] vs '[..]' differ)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def _diff(a: Any, b: Any, key: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{key}{k}: only in the YAML" for k in a.keys() - b.keys()]
        return out + [d for k in a.keys() & b.keys() for d in _diff(a[k], b[k], f"{key}{k}.")]
    if _same(a, b):
        return []
    return [f"{key.rstrip('.')}: YAML {a!r} became {b!r}"]


def judge_config(facts: Mapping[str, Any], plain: Mapping[str, Any]) -> list[Finding]:
    config = facts["config"]
    reached = Finding(
        "train.py's config handling reaches model loading",
        bool(config["reached_model_loading"]),
        "parse_args and main() ran up to from_pretrained"
        if config["reached_model_loading"]
        else f"main() stopped before loading the model: {config['error']}",
        "train.py",
    )
    bad = _diff(dict(plain), config["loaded"])
    for call in config["conversions"]:
        if not call["ok"]:
            bad.append(f"OmegaConf.to_object({call['key'] or 'a non-config value'}) failed: {call['error']} "
                       f"({call['where']})")  # fmt: skip
        elif call["key"] is not None and not _same(_lookup(plain, call["key"]), call["value"]):
            was = _lookup(plain, call["key"])
            bad.append(f"{call['key']}: to_object gave {call['value']!r}, the YAML has {was!r}")
    n = len(config["conversions"])
    survive = Finding(
        "every YAML value train.py converts survives the conversion",
        not bad,
        "; ".join(bad) if bad else f"{n} OmegaConf.to_object calls and the whole YAML round-trip unchanged",
        "train.py",
    )
    return [reached, survive]


def judge_samples(facts: Mapping[str, Any], recipe: Recipe) -> list[Finding]:
    samples = facts["samples"]
    gen = [s for s in samples if s["kind"] == "gen" and s["returned"]]
    sft = [s for s in samples if s["kind"] == "sft" and s["returned"]]
    wrong = [
        s
        for s in gen
        if s.get("item_target") != s["record_target"]
        or s.get("item_target_sha256") != s["target_sha256"]
        or not s.get("has_output")
    ]
    target = Finding(
        "the loss image is the pair's target",
        not wrong and (bool(gen) or recipe_sft_share(recipe) == 1.0),
        f"{len(gen)} generation samples, {len(wrong)} with another output image"
        + (f", e.g. {wrong[0].get('item_target')} for target {wrong[0]['record_target']}" if wrong else ""),
        DATASET,
    )
    lost = [s for s in gen if s["instruction"] not in (s.get("item_instruction") or "")]
    instruction = Finding(
        "a generation sample carries its pair's instruction",
        not lost,
        f"{len(lost)} of {len(gen)} samples lack their record's instruction (prompt dropout was off)"
        + (f", e.g. {lost[0].get('item_instruction')!r}" if lost else ""),
        DATASET,
    )
    findings = [target, instruction]
    if recipe_sft_share(recipe) > 0:
        rows = [(b, text) for b in facts["batches"] if b["task_types"] == ["sft"] for text in b["labels"]]
        answers = {s["answer"] for s in sft}
        questions = {s["question"].replace("<image>\n", "").replace("<image>", "") for s in sft}
        off = [text for _, text in rows if text not in answers or any(q and q in text for q in questions)]
        findings.append(
            Finding(
                "VQA labels cover only the answer",
                bool(rows) and not off,
                f"{len(rows)} SFT label rows, {len(off)} not exactly an answer"
                + (f", e.g. {off[0]!r}" if off else "")
                + ("" if rows else "; no SFT batch was drawn"),
                f"{DATASET} (process_sft, OmniGen2Collator)",
            )
        )
    skipped = [s for s in samples if not _same_record(s)]
    none_rows = sum(s["returned"] is False for s in samples)
    findings.append(
        Finding(
            "no record is skipped",
            not skipped,
            f"{len(samples)} samples drawn, {len(skipped)} not the record asked for "
            f"({none_rows} returned none)" + (f", e.g. index {skipped[0]['index']}" if skipped else ""),
            f"{DATASET} (__getitem__)",
        )
    )
    return findings


def _same_record(s: Mapping[str, Any]) -> bool:
    if not s["returned"]:
        return False
    if s["kind"] == "gen":
        return s.get("item_target") == s["record_target"] and s.get("item_task") == s["task"]
    return s.get("item_id") == s["record_id"] and s.get("item_task") == "sft"


def judge_steps(facts: Mapping[str, Any], recipe: Recipe) -> list[Finding]:
    steps = facts["epoch"]["steps"]
    source = f"{SAMPLER}, train.py" if facts["mode"] == "fork" else "train.py"
    sizes = [s["samples"] for s in steps]
    off = [i for i, n in enumerate(sizes) if not within(n, recipe.batch_size, BATCH_TOLERANCE)]
    batch = Finding(
        f"samples per optimizer step equal the recipe's global batch within ±{BATCH_TOLERANCE:.0%}",
        bool(steps) and not off,
        f"{len(steps)} steps per epoch, {min(sizes, default=0)}-{max(sizes, default=0)} samples each "
        f"(recipe {recipe.batch_size})"
        + (f"; step {off[0] + 1} has {sizes[off[0]]}" if off else "")
        + ("" if steps else "; the epoch is empty"),
        f"{source} (accelerate ends each epoch with an optimizer step)",
    )
    want = recipe_sft_share(recipe)
    shares = [s["sft"] / s["samples"] for s in steps if s["samples"]]
    far = [i for i, x in enumerate(shares) if abs(x - want) > MIX_TOLERANCE]
    mix = Finding(
        f"the SFT share of every optimizer step is within {MIX_TOLERANCE:.2f} of the recipe's",
        bool(shares) and not far,
        f"recipe {want:.3f}, steps {min(shares, default=0):.3f}-{max(shares, default=0):.3f}"
        + (f"; step {far[0] + 1} has {shares[far[0]]:.3f}" if far else ""),
        source,
    )
    mixed = sum(s["mixed"] for s in steps)
    ranks = facts["epoch"]["steps_per_rank"]
    single = Finding(
        "every micro-step holds one task type on all ranks",
        mixed == 0 and len(set(ranks)) == 1,
        f"{mixed} micro-steps mix task types across ranks or within a batch; steps per rank {ranks}",
        f"{source}, accelerate/data_loader.py (BatchSamplerShard)",
    )
    return [batch, mix, single]


def judge_streams(facts: Mapping[str, Any], recipe: Recipe) -> Finding:
    want = {"sft"} if recipe_sft_share(recipe) > 0 else set()
    if any(k != VQA_KEY and v > 0 for k, v in recipe.mix.items()):
        want.add("gen")
    taken = {k: sum(s["kind"] == k for s in facts["samples"]) for k in ("gen", "sft")}
    missing = sorted(k for k in want if not facts["dataset"][k] or not taken[k])
    extra = sorted(k for k in ("gen", "sft") if k not in want and facts["dataset"][k])
    return Finding(
        "every stream of the recipe reaches the loader, and only those",
        not missing and not extra,
        f"records {facts['dataset']}, drawn {taken}"
        + (f"; missing {missing}" if missing else "")
        + (f"; unexpected {extra}" if extra else ""),
        f"{DATASET} (_collect_annotations)",
    )


def judge_facts(facts: Mapping[str, Any], recipe: Recipe, plain: Mapping[str, Any]) -> list[Finding]:
    return [
        *judge_config(facts, plain),
        *judge_samples(facts, recipe),
        *judge_steps(facts, recipe),
        judge_streams(facts, recipe),
    ]


def figures(facts: Mapping[str, Any], recipe: Recipe) -> dict[str, Any]:
    """What the preflight measured, for the report and docs/backends.md."""
    steps = facts["epoch"]["steps"]
    sizes = [s["samples"] for s in steps]
    shares = [s["sft"] / s["samples"] for s in steps if s["samples"]]
    samples: Sequence[Mapping[str, Any]] = facts["samples"]
    return {
        "mode": facts["mode"],
        "processes": facts["processes"],
        "batches_drawn": len(facts["batches"]),
        "samples_drawn": len(samples),
        "micro_batches_per_rank_per_epoch": facts["epoch"]["micro_batches_per_rank"],
        "steps_per_epoch": len(steps),
        "effective_global_batch": {"min": min(sizes, default=0), "max": max(sizes, default=0)},
        "recipe_global_batch": recipe.batch_size,
        "sft_share": {
            "recipe": round(recipe_sft_share(recipe), 4),
            "min": round(min(shares, default=0.0), 4),
            "max": round(max(shares, default=0.0), 4),
        },
        "records": facts["dataset"],
        "taken": {k: sum(s["kind"] == k for s in samples) for k in ("gen", "sft")},
        "skipped": sum(not _same_record(s) for s in samples),
        "config": {
            "reached_model_loading": facts["config"]["reached_model_loading"],
            "error": facts["config"]["error"],
            "conversions": [
                {k: c.get(k) for k in ("key", "ok", "value", "error", "where")}
                for c in facts["config"]["conversions"]
            ],
        },
    }
