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
