"""Planning stops when two variants would train on the same samples (issue #27)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from sgt.config import ConfigError, check_config, validate_config

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"


def _config(name: str, **variants: dict[str, Any]) -> dict[str, Any]:
    cfg = yaml.safe_load((REPO / "config" / name).read_text())
    cfg["study"]["variants"].update(variants)
    validate_config(cfg, SCHEMA)
    return cfg


def test_the_old_per_batch_collision_now_plans() -> None:
    """1:3 and 1:4 at the demo's batch of 8: one experiment under per-batch rounding, two now."""
    r13, r14 = {"mix": {"vqa": 1, "semantic": 3}}, {"mix": {"vqa": 1, "semantic": 4}}
    check_config(_config("config.yaml", r13=r13, r14=r14))


@pytest.mark.parametrize(
    ("dup", "same_as", "why"),
    [
        ({"mix": {"vqa": 2, "semantic": 4}, "label": "Again"}, "sft_semantic", "from all pairs"),
        ({"mix": {"vqa": 1, "semantic": 2}, "tables": {"table6": "+Semantic"}}, "sft_semantic", "all pairs"),
        # pairs 400: all of targets.n_per_task
        ({"mix": {"vqa": 1, "semantic": 2}, "pairs": 400}, "sft_semantic", "from all pairs"),
        ({"mix": {"semantic": 2, "vqa": 1}, "pairs": 120}, "sft_semantic_120", "from the first 120 pairs"),
        # semantic is never drawn in 1200 samples
        ({"mix": {"vqa": 3, "semantic": 1e-6}}, "sft", "every one of its 150 steps of batch 8"),
        ({"mix": {"vqa": 1, "semantic": 2.0001}}, "sft_semantic", "every one of its 150 steps of batch 8"),
    ],
)
def test_two_variants_with_one_schedule_stop_planning(dup: dict[str, Any], same_as: str, why: str) -> None:
    with pytest.raises(ConfigError, match=r"^study\.variants\.dup: model 'tiny' would train on exactly") as e:
        check_config(_config("config.yaml", dup=dup))
    assert f"the samples of study.variants.{same_as} (" in str(e.value)
    assert why in str(e.value)


def test_pairs_and_tasks_tell_variants_apart() -> None:
    check_config(
        _config(
            "config.yaml",
            fewer={"mix": {"vqa": 1, "semantic": 2}, "pairs": 60},
            other_task={"mix": {"vqa": 1, "edge": 2}, "pairs": 120},
            gen_only={"mix": {"semantic": 1}},
            gen_only_edge={"mix": {"edge": 5}},
        )
    )


def test_a_cluster_model_compares_its_mixes_as_ratios() -> None:
    check_config(_config("paper.yaml", near={"mix": {"vqa": 1, "edge": 2.001}}))
    message = (
        "study.variants.dup: model 'bagel' would train on the same data in the same ratio as "
        "study.variants.sft_edge (mixes {'vqa': 1, 'edge': 2} and {'vqa': 2, 'edge': 4} are one ratio"
    )
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_config(_config("paper.yaml", dup={"mix": {"vqa": 2, "edge": 4}}))


def test_untrained_and_base_variants_are_not_compared() -> None:
    check_config(_config("config.yaml", floor2={"untrained": True}, base2={"label": "Base again"}))


def test_the_paper_analyses_compare_paper_variants() -> None:
    """The cluster models are analysed too, so analysis.compare must name the paper study's variants."""
    check_config(_config("paper.yaml"))
    cfg = _config("paper.yaml")
    cfg["analysis"]["compare"] = ["released", "sft_sgt"]
    with pytest.raises(ConfigError, match=r"analysis\.compare: 'released' is not in study\.variants"):
        check_config(cfg)
    cfg = _config("paper.yaml")
    cfg["analysis"]["timesteps"] = cfg["analysis"]["cluster"]["num_timesteps"]
    with pytest.raises(ConfigError, match=r"analysis\.timesteps exceeds the steps of analysis\.cluster"):
        check_config(cfg)


def test_a_variant_runs_only_for_its_models() -> None:
    """study.variants.<v>.models: OmniGen2 is tuned on the tasks the paper reports for it only."""
    from sgt.config import variant_models

    cfg = _config("paper.yaml")
    assert variant_models(cfg, "instance") == ["bagel"]
    assert variant_models(cfg, "panoptic") == ["bagel", "omnigen2"]
    # a duplicate of a BAGEL-only mix is still a duplicate for BAGEL, and none for OmniGen2
    with pytest.raises(ConfigError, match=r"study\.variants\.dup: model 'bagel' would train"):
        check_config(_config("paper.yaml", dup={"mix": {"instance": 2}}))
    check_config(_config("paper.yaml", dup={"mix": {"instance": 2}, "models": ["omnigen2"]}))
    with pytest.raises(ConfigError, match=r"study\.variants\.x\.models: 'janus' not in study\.models"):
        check_config(_config("paper.yaml", x={"mix": {"edge": 3}, "models": ["janus"]}))
    cfg = _config("paper.yaml")
    cfg["analysis"]["compare"] = ["base", "instance"]
    with pytest.raises(ConfigError, match=r"analysis\.compare: 'instance' does not run for 'omnigen2'"):
        check_config(cfg)


def test_a_mix_omnigen2_cannot_split_into_its_batch_stops_planning() -> None:
    """A 1:1 VQA:task ratio is a 2-step interleave; 60 samples over 4 GPUs (15 each) hold no whole number of
    them: planning stops, instead of the export job hours into the run (it did, in the rehearsal)."""
    with pytest.raises(ConfigError, match=r"study\.variants\.half .*2-step pattern.*models\.omnigen2\.gpus"):
        check_config(_config("paper.yaml", half={"mix": {"vqa": 1, "panoptic": 1}}))
    # the same mix for BAGEL alone plans (its batches are packed upstream), and 2:3 (a 5-step cycle) for both
    check_config(_config("paper.yaml", half={"mix": {"vqa": 1, "panoptic": 1}, "models": ["bagel"]}))
    check_config(_config("paper.yaml", two_three={"mix": {"vqa": 2, "panoptic": 3}}))


def test_a_variant_runs_with_its_own_seeds_else_the_study_seeds() -> None:
    """study.variants.<v>.seeds (issue #23): the demo gives SFT and SFT+Semantic three seeds; the base is one
    released checkpoint, evaluated once."""
    from sgt.config import variant_seeds

    cfg = _config("config.yaml")
    assert cfg["study"]["seeds"] == [0]
    for variant in ("sft", "sft_semantic"):
        assert variant_seeds(cfg, variant) == [0, 1, 2], variant
    for variant in (
        "base",
        "untrained",
        "sft_edge",
        "sft_reconstruction",
        "sft_semantic_1to1",
        "sft_semantic_120",
    ):
        assert variant_seeds(cfg, variant) == [0], variant
    cfg["study"]["seeds"] = [3, 4]  # the default follows study.seeds; an own list does not
    assert variant_seeds(cfg, "sft_edge") == [3, 4] and variant_seeds(cfg, "sft") == [0, 1, 2]
    check_config(_config("config.yaml", odd={"mix": {"vqa": 1, "edge": 3}, "seeds": [7, 2]}))


def test_the_full_study_overlay_gives_every_variant_three_seeds() -> None:
    """config/study.yaml over config/config.yaml, merged as --configfile merges them: its study.seeds
    [0, 1, 2] reaches every variant without a list of its own; the three with one in config.yaml have it."""
    from snakemake.utils import update_config

    from sgt.config import variant_seeds

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    update_config(cfg, yaml.safe_load((REPO / "config" / "study.yaml").read_text()))
    validate_config(cfg, SCHEMA)
    check_config(cfg)
    seeds = {v: variant_seeds(cfg, v) for v in cfg["study"]["variants"]}
    assert len(seeds) >= 20 and all(s == [0, 1, 2] for s in seeds.values()), seeds


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        ([], r"study\.variants\.x\.seeds: \[\] is not a non-empty list of seeds; .*drop the key"),
        ([0, "1"], r"study\.variants\.x\.seeds: not a seed: '1'; seeds are non-negative integers"),
        ([0, 1.5], r"study\.variants\.x\.seeds: not a seed: 1\.5;"),
        ([True], r"study\.variants\.x\.seeds: not a seed: True;"),
        ([0, -1], r"study\.variants\.x\.seeds: not a seed: -1;"),
        ([0, 1, 0, 1, 2], r"study\.variants\.x\.seeds: seed\(s\) 0, 1 listed more than once.*list each once"),
    ],
)
def test_bad_variant_seeds_stop_planning_naming_the_key(seeds: list[Any], message: str) -> None:
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    validate_config(cfg, SCHEMA)
    cfg["study"]["variants"]["x"] = {"mix": {"vqa": 1, "edge": 3}, "seeds": seeds}
    with pytest.raises(ConfigError, match=message):
        check_config(cfg)


def test_the_schema_names_a_seed_that_is_no_integer() -> None:
    named = r"config study\.variants\.x\.seeds\.1: 'one' is not of type 'integer'"
    with pytest.raises(ConfigError, match=named):
        _config("config.yaml", x={"mix": {"vqa": 1, "edge": 3}, "seeds": [0, "one"]})


def test_repeated_study_seeds_stop_planning() -> None:
    cfg = _config("config.yaml")
    cfg["study"]["seeds"] = [2, 2]
    with pytest.raises(ConfigError, match=r"^study\.seeds: seed\(s\) 2 listed more than once"):
        check_config(cfg)
