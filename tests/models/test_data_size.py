"""A variant's data size (``study.variants.<v>.pairs``): the first N pairs of each task, for every backend."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from sgt.models.backend_interface import Launch, Recipe
from sgt.models.backends import run
from sgt.targets.shards import write_first_pairs


def _ids(shards: list[Path]) -> list[int]:
    return [i for s in shards for i in pq.read_table(s, columns=["image_id"]).column("image_id").to_pylist()]


def test_first_pairs_keep_shard_order_and_nest(toy_shards, tmp_path):
    shards = toy_shards["semantic"]  # two shards: images [1, 2] and [3, 4]
    assert write_first_pairs(shards, 3, tmp_path / "three.parquet") == 3
    three = pq.read_table(tmp_path / "three.parquet")
    assert three.column("image_id").to_pylist() == _ids(shards)[:3] == [1, 2, 3]
    assert three.schema == pq.read_table(shards[0]).schema  # a shard like any other
    first = pq.read_table(shards[0]).slice(0, 1).to_pylist()[0]
    assert three.to_pylist()[0] == first  # rows copied whole, image bytes included
    write_first_pairs(shards, 1, tmp_path / "one.parquet")
    assert set(_ids([tmp_path / "one.parquet"])) < set(three.column("image_id").to_pylist())


def test_asking_for_more_pairs_than_the_shards_hold_names_the_fix(toy_shards, tmp_path):
    with pytest.raises(ValueError, match=r"hold 4 .*study\.variants\.<v>\.pairs"):
        write_first_pairs(toy_shards["semantic"], 5, tmp_path / "five.parquet")
    assert not (tmp_path / "five.parquet").exists()  # nothing half-written


def test_limit_pairs_cuts_every_task_and_none_keeps_all(toy_shards, tmp_path):
    shards = {t: toy_shards[t] for t in ("semantic", "edge")}
    assert run.limit_pairs(shards, None, tmp_path) == shards
    cut = run.limit_pairs(shards, 2, tmp_path / "pairs")
    assert set(cut) == set(shards)
    for task, files in cut.items():
        assert len(files) == 1 and _ids(files) == _ids(shards[task])[:2]
        assert set(pq.read_table(files[0]).column("task").to_pylist()) == {task}


@dataclass
class RecordingBackend:
    """Exports what it is given (the pair counts it saw) and 'trains' with a no-op command."""

    exports: list[dict[str, int]] = field(default_factory=list)
    name = "recording"

    def export(self, shards, vqa, recipe, out: Path) -> Path:
        out.mkdir(parents=True)
        self.exports.append({t: len(_ids(files)) for t, files in shards.items()})
        return out

    def write_config(self, data, recipe, out: Path) -> Path:
        out.write_text("{}")
        return out

    def prepare(self, config, workdir) -> None:
        pass

    def launch(self, config, recipe, workdir) -> Launch:
        return Launch((sys.executable, "-c", "pass"))

    def checkpoint(self, workdir: Path) -> Path:
        (workdir / "ckpt").mkdir(exist_ok=True)
        return workdir / "ckpt"

    def handoff(self, ckpt, out: Path, log: Path | None = None) -> None:
        out.mkdir(exist_ok=True)


def test_train_with_backend_exports_the_cut_data_and_again_when_the_size_changes(
    toy_shards, monkeypatch, tmp_path
):
    backend = RecordingBackend()
    monkeypatch.setattr(run, "backend_for", lambda *a, **k: backend)
    recipe = Recipe("v", {"semantic": 1}, 2, 1e-3, 1, 2, 0)
    shards = {"semantic": toy_shards["semantic"]}
    args = (shards, None, recipe, tmp_path / "work", tmp_path / "out", tmp_path / "log")
    ckpt = tmp_path / "work" / "ckpt" / "state.json"
    run.train_with_backend({}, *args, pairs=3)
    ckpt.write_text("{}")  # a checkpoint of this run
    run.train_with_backend({}, *args, pairs=3)  # a rerun (requeue) reuses the export and the checkpoint
    assert ckpt.is_file()
    run.train_with_backend({}, *args, pairs=None)  # another data size: a new run, from scratch
    assert backend.exports == [{"semantic": 3}, {"semantic": 4}]
    assert not ckpt.exists()


def test_a_changed_recipe_or_base_model_starts_the_run_over(toy_shards, tmp_path):
    shards = {"semantic": toy_shards["semantic"]}
    recipe = Recipe("v", {"semantic": 1}, 2, 1e-3, 1, 2, 0)
    base = tmp_path / "base"
    base.mkdir()
    (base / "model.safetensors").write_bytes(b"one")
    same = run.run_inputs({}, shards, None, recipe, base, None)
    assert run.run_inputs({}, shards, None, recipe, base, None) == same
    assert (
        run.run_inputs({}, shards, None, Recipe("v", {"semantic": 1}, 3, 1e-3, 1, 2, 0), base, None) != same
    )
    (base / "model.safetensors").write_bytes(b"two")  # the base rebuilt in place
    assert run.run_inputs({}, shards, None, recipe, base, None) != same


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"mix": {"vqa": 1, "semantic": 2}, "pairs": 10_000},
            r"pairs: 10000 is more than targets.n_per_task",
        ),
        ({"mix": {"vqa": 1}, "pairs": 4}, r"pairs: the mix has no proxy task"),
    ],
)
def test_config_pairs_are_checked_before_any_job(spec, message):
    import yaml
    from snakemake.utils import validate

    from sgt.config import ConfigError, check_config

    repo = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    cfg["study"]["variants"]["cut"] = spec
    validate(cfg, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    with pytest.raises(ConfigError, match=rf"^study\.variants\.cut\.{message}"):
        check_config(cfg)


def test_untrained_variant_takes_no_mix_and_needs_a_model_of_its_own():
    import yaml
    from snakemake.utils import validate

    from sgt.config import ConfigError, check_config

    repo = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    cfg["study"]["variants"]["floor"] = {"untrained": True, "mix": {"vqa": 1}}
    validate(cfg, str(repo / "workflow" / "schemas" / "config.schema.yaml"))
    with pytest.raises(ConfigError, match=r"^study\.variants\.floor: an untrained variant is never trained"):
        check_config(cfg)
    paper = yaml.safe_load((repo / "config" / "paper.yaml").read_text())
    paper["study"]["variants"]["floor"] = {"untrained": True}
    with pytest.raises(ConfigError, match=r"^study\.variants\.floor\.untrained: model 'bagel'"):
        check_config(paper)
