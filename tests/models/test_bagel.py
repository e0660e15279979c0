"""BAGEL export read back the way upstream's unified_edit / vlm_sft readers read it; its launch command."""

from __future__ import annotations

import io
import json
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from backend_helpers import assert_snapshot, paper_recipe
from PIL import Image

from sgt.io import sha256_bytes
from sgt.models.backends.bagel import ENTRY_SCRIPT, BagelBackend, group_weights


@pytest.fixture
def backend(tmp_path: Path) -> BagelBackend:
    return BagelBackend(
        checkout=tmp_path / "Bagel", model_path=tmp_path / "BAGEL-7B-MoT", gpus=8, num_workers=1
    )


def upstream_parquet_paths(data_dir: str) -> list[str]:
    """What Bagel's get_parquet_data_paths lists: os.path.join(data_dir, name) for every *.parquet."""
    return [os.path.join(data_dir, n) for n in os.listdir(data_dir) if n.endswith(".parquet")]


def test_export_edit_parquet_matches_unified_edit_reader(backend, toy_shards, vqa_jsonl, tmp_path):
    recipe = paper_recipe(mix={"vqa": 1, "semantic": 1, "edge": 1})
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    info = json.loads((root / "dataset_info.json").read_text())
    edit = info["unified_edit"]["sgt_pairs"]
    parquet_info = json.loads(Path(edit["parquet_info_path"]).read_text())
    paths = upstream_parquet_paths(edit["data_dir"])
    assert sorted(paths) == sorted(parquet_info) and len(paths) == edit["num_files"]
    n_rows, tasks_per_group = 0, []
    for path in paths:
        meta = pq.ParquetFile(path)
        assert meta.metadata.num_row_groups == parquet_info[path]["num_row_groups"] >= backend.min_units
        assert meta.metadata.num_rows == parquet_info[path]["num_rows"]
        assert meta.schema_arrow.field("image_list").type == pa.list_(pa.binary())
        assert meta.schema_arrow.field("instruction_list").type == pa.list_(pa.list_(pa.string()))
        for g in range(meta.metadata.num_row_groups):
            df = meta.read_row_group(g).to_pandas()  # exactly what ParquetStandardIterableDataset does
            tasks_per_group.append(list(df["task"]))
            for _, row in df.iterrows():
                assert len(row["image_list"]) == 2 and len(row["instruction_list"]) == 1
                phrasings = list(row["instruction_list"][0])
                assert phrasings and all(isinstance(p, str) and len(p) > 1 for p in phrasings)
                cond, target = (Image.open(io.BytesIO(b)).convert("RGB") for b in row["image_list"])
                assert cond.size == target.size
                # The loss image is image_list[-1]: it must be this row's target, never the input RGB.
                assert sha256_bytes(row["image_list"][-1]) == row["target_sha256"] != row["condition_sha256"]
                assert row["task"] in ("semantic", "edge")
        n_rows += meta.metadata.num_rows
    assert n_rows == edit["num_total_samples"]
    all_tasks = [t for g in tasks_per_group for t in g]
    assert all_tasks.count("semantic") == all_tasks.count("edge") == 4  # 1:1 mix, every pair used once
    for group in tasks_per_group:  # every row group (a worker's unit) holds the mix
        assert abs(group.count("semantic") - group.count("edge")) <= 1


def test_export_vqa_jsonl_matches_sft_reader(backend, toy_shards, vqa_jsonl, tmp_path):
    root = backend.export(toy_shards, vqa_jsonl, paper_recipe(), tmp_path / "export")
    vqa = json.loads((root / "dataset_info.json").read_text())["vlm_sft"]["sgt_vqa"]
    lines = Path(vqa["jsonl_path"]).read_text().splitlines()
    assert len(lines) == vqa["num_total_samples"] >= backend.min_units
    for line in lines:
        item = json.loads(line)
        human, gpt = item["conversations"]
        assert human["from"] == "human" and human["value"].count("<image>") == 1
        assert gpt["from"] == "gpt" and gpt["value"].startswith("grey ")
        Image.open(os.path.join(vqa["data_dir"], item["image"])).convert("RGB")
    assert "edge" not in json.loads((root / "manifest.json").read_text())["rows"]


def test_task_must_match_its_shards(backend, toy_shards, tmp_path):
    wrong = {"edge": toy_shards["semantic"]}
    with pytest.raises(ValueError, match="made for task 'semantic' but the shard was given as task 'edge'"):
        backend.export(wrong, None, paper_recipe(mix={"edge": 1}), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_a_mixed_tasks_shards_export_though_each_row_names_its_member(backend, toy_shards, tmp_path):
    """Found by the CPU rehearsal: paper.yaml's +Mixed variant failed its export (rows name the member task
    that made them in ``task``; the task they were made for is ``proxy_task``)."""
    from sgt.targets.shards import build_shard

    world = toy_shards["edge"][0].parents[2] / "world"
    shard = tmp_path / "mixed" / "000.parquet"
    build_shard(world, "train2017", [1, 2, 3, 4], "mixed", {}, 0, shard, source="toyworld")
    members = set(pq.read_table(shard, columns=["task"]).column(0).to_pylist())
    assert members and "mixed" not in members  # the shard really is made of member tasks
    backend.export({"mixed": [shard]}, None, paper_recipe(mix={"mixed": 1}), tmp_path / "x")
    assert (tmp_path / "x").is_dir()


def simulate_batches(weights: dict[str, float], n: int, batches: int, seed: int = 0) -> dict[str, float]:
    """Upstream PackedDataset.__iter__: one sample per mandatory group, then cumulative-weight draws."""
    rng, names = random.Random(seed), list(weights)
    total = sum(weights.values())
    cum = [sum(list(weights.values())[: i + 1]) / total for i in range(len(names))]
    counts = dict.fromkeys(names, 0)
    for _ in range(batches):
        for name in names:
            counts[name] += 1
        for _ in range(n - len(names)):
            u = rng.random()
            counts[next(name for name, c in zip(names, cum, strict=True) if u < c)] += 1
    return {k: v / (n * batches) for k, v in counts.items()}


def test_yaml_weights_give_the_per_batch_mix(backend, toy_shards, vqa_jsonl, tmp_path):
    recipe = paper_recipe(batch_size=64)  # 8 samples per rank batch, so the simulation is exact in n
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    cfg = yaml.safe_load(backend.write_config(root, recipe, tmp_path / "data.yaml").read_text())
    assert set(cfg) == {"unified_edit", "vlm_sft"} and all(g["is_mandatory"] for g in cfg.values())
    names = {k: g["dataset_names"] for k, g in cfg.items()}
    assert names == {"unified_edit": ["sgt_pairs"], "vlm_sft": ["sgt_vqa"]}
    weights = {k: g["weight"] for k, g in cfg.items()}
    shares = simulate_batches(weights, n=8, batches=5000)
    assert shares["unified_edit"] == pytest.approx(2 / 3, abs=0.01)
    assert shares["vlm_sft"] == pytest.approx(1 / 3, abs=0.01)
    # Plain 2:1 weights (no mandatory correction) would miss the mix.
    assert simulate_batches({"unified_edit": 2, "vlm_sft": 1}, 8, 5000)["unified_edit"] < 0.64


def test_group_weights_refuse_impossible_mix():
    assert group_weights({"a": 1, "b": 2}, 7.5) == pytest.approx({"a": 1.5 / 5.5, "b": 4 / 5.5}, abs=1e-6)
    with pytest.raises(ValueError, match="below the one mandatory sample"):
        group_weights({"a": 1, "b": 20}, 7.5)


def test_generation_only_recipe_drops_the_ce_assert_and_only_it(backend, toy_shards, tmp_path):
    recipe = paper_recipe(mix={"semantic": 1})
    root = backend.export(toy_shards, None, recipe, tmp_path / "export")
    config = backend.write_config(root, recipe, tmp_path / "data.yaml")
    assert list(yaml.safe_load(config.read_text())) == ["unified_edit"]
    backend.prepare(config, tmp_path / "run")
    launch = backend.launch(config, recipe, tmp_path / "run")
    assert launch.env["SGT_BAGEL_NO_CE"] == "1" and "--visual_und" in launch.argv
    entry = {"__name__": "entry"}
    exec(compile((tmp_path / "run" / ENTRY_SCRIPT).read_text(), ENTRY_SCRIPT, "exec"), entry)
    trainer = tmp_path / "trainer.py"
    trainer.write_text("x = 1\nif x:\n    pass\nelse:\n    assert not training_args.visual_und\n")
    entry["trainer_code"](str(trainer), True)  # compiles without the assert
    assert "visual_und" not in str(entry["trainer_code"](str(trainer), True).co_names)
    assert "training_args" in entry["trainer_code"](str(trainer), False).co_names
    trainer.write_text("assert not training_args.visual_und\nassert not training_args.visual_und\n")
    with pytest.raises(SystemExit, match="expected .* once, found 2"):
        entry["trainer_code"](str(trainer), True)


def test_launch_snapshots_fresh_and_resumed(backend, toy_shards, vqa_jsonl, tmp_path):
    recipe = paper_recipe()
    root = backend.export(toy_shards, vqa_jsonl, recipe, tmp_path / "export")
    config = backend.write_config(root, recipe, tmp_path / "data.yaml")
    workdir = tmp_path / "run"
    backend.prepare(config, workdir)
    compile((workdir / ENTRY_SCRIPT).read_text(), ENTRY_SCRIPT, "exec")  # valid Python, never run here
    assert backend.checkpoint(workdir) is None
    assert_snapshot("bagel_launch_fresh", backend.launch(config, recipe, workdir), tmp_path)

    ckpts = workdir / "checkpoints"
    for step, files in (("0002000", 8), ("0003000", 7)):  # 0003000 lost an optimizer shard: save was killed
        d = ckpts / step
        d.mkdir()
        for f in ("model.safetensors", "ema.safetensors", "scheduler.pt"):
            (d / f).write_bytes(b"x")
        for i in range(files):
            (d / f"optimizer.{i:05d}-of-00008.pt").write_bytes(b"x")
    assert backend.checkpoint(workdir) == ckpts / "0002000"
    launch = backend.launch(config, recipe, workdir)
    assert launch.argv[launch.argv.index("--resume_from") + 1] == str(ckpts / "0002000")
    assert_snapshot("bagel_launch_resume", launch, tmp_path)


def test_multi_node_is_refused(tmp_path):
    with pytest.raises(ValueError, match="single-node"):
        BagelBackend(checkout=tmp_path, model_path=tmp_path, nodes=2)


def test_multi_turn_conversations_reach_the_sft_jsonl_whole(
    backend, toy_shards, multi_turn_vqa_jsonl, tmp_path
):
    root = backend.export(toy_shards, multi_turn_vqa_jsonl, paper_recipe(), tmp_path / "export")
    vqa = json.loads((root / "dataset_info.json").read_text())["vlm_sft"]["sgt_vqa"]
    items = [json.loads(line) for line in Path(vqa["jsonl_path"]).read_text().splitlines()]
    convs = [item["conversations"] for item in items if len(item["conversations"]) > 2]
    assert convs, "the conversation was split or dropped"
    values = [t["value"] for t in convs[0]]
    assert values == ["<image>\nWhat shade is it?", "grey", "Is it dark?", "no", "Any objects?", "none"]
    assert [t["from"] for t in convs[0]] == ["human", "gpt"] * 3  # what vlm_dataset.change_format reads


def test_handoff_writes_fig6_metrics_from_the_trainers_log_lines(backend, tmp_path):
    """Found by the CPU rehearsal: Fig. 6 reads results/models/bagel/<v>/seed<k>/metrics.csv, which no cluster
    hand-off wrote, so the paper config's figure job failed. The lines are upstream's format
    (train/pretrain_unified_navit.py: rank 0 both logs and prints each one)."""
    log = tmp_path / "train.log"
    line = "(step={:07d}) Train Loss ce: {}, Train Loss mse: {}, Train Steps/Sec: 0.50, Tokens/Sec: 3.10k, "
    log.write_text(
        "2026-01-01 INFO sgt.launch: launching\n"
        + "".join(
            f"2026-01-01 INFO sgt.launch: {line.format(s, ce, 0.5)}\n" for s, ce in [(0, 2.0), (10, 1.5)]
        )
        + f"{line.format(10, 1.25, 0.25)}\n"  # the same step again (print after logger.info; a resumed run)
        + f"{line.format(20, 'nan', 0.2)}\n"
    )
    ckpt = tmp_path / "run" / "checkpoints" / "0000020"
    ckpt.mkdir(parents=True)
    backend.handoff(ckpt, tmp_path / "out", log=log)
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv")
    assert list(metrics.columns) == ["step", "loss_vqa", "loss_mse"]
    assert metrics["step"].tolist() == [0, 10, 20]
    assert metrics["loss_vqa"].tolist()[:2] == [2.0, 1.25] and np.isnan(metrics["loss_vqa"].iloc[2])
    assert json.loads((tmp_path / "out" / "checkpoint.json").read_text())["checkpoint"] == str(ckpt)
    backend.handoff(ckpt, tmp_path / "no_log")  # a log without loss lines: no metrics.csv, no error
    assert sorted(p.name for p in (tmp_path / "no_log").iterdir()) == ["checkpoint.json"]
