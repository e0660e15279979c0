"""The config schema checks every key at startup, the ``models.<m>`` sections included (issue #21, finding 3).

A misspelt key anywhere stops ``snakemake -n`` before any job and the error names it; the schema's defaults
are the code's, so leaving a key out means what the code would do with it.
"""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def _typo(config: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    def write(tmp: Path) -> Path:
        cfg = yaml.safe_load((REPO / "config" / config).read_text())
        edit(cfg["models"])
        path = tmp / f"typo-{config}"
        path.write_text(yaml.safe_dump(cfg, sort_keys=False))
        return path

    return write


def _rename(section: dict[str, Any], old: str, new: str) -> None:
    section[new] = section.pop(old)


TYPOS = {
    "finetune.learning_rate": (
        _typo("test.yaml", lambda m: _rename(m["tiny"]["finetune"], "lr", "learning_rate")),
        "models.tiny.finetune",
        "'learning_rate' was unexpected",
    ),
    "architecture.vit_layerz": (
        _typo("test.yaml", lambda m: _rename(m["tiny"]["architecture"], "vit_layers", "vit_layerz")),
        "models.tiny.architecture",
        "'vit_layerz' was unexpected",
    ),
    "pretrain.umm.stpes": (
        _typo("test.yaml", lambda m: _rename(m["tiny"]["pretrain"]["umm"], "steps", "stpes")),
        "models.tiny.pretrain.umm",
        "'stpes' was unexpected",
    ),
    "pretrain.vit.flipp": (
        _typo("test.yaml", lambda m: m["tiny"]["pretrain"]["vit"].update(flipp=True)),
        "models.tiny.pretrain.vit",
        "'flipp' was unexpected",
    ),
    "bagel recipe.lrr": (
        _typo("paper.yaml", lambda m: _rename(m["bagel"]["recipe"], "lr", "lrr")),
        "models.bagel.recipe",
        "'lrr' was unexpected",
    ),
    "omnigen2 gpu": (
        _typo("paper.yaml", lambda m: _rename(m["omnigen2"], "gpus", "gpu")),
        "models.omnigen2",
        "'gpu' was unexpected",
    ),
}


@pytest.mark.parametrize("typo", sorted(TYPOS))
def test_a_typo_in_a_model_key_stops_the_dry_run_naming_it(typo: str, tmp_path: Path) -> None:
    """Run from the repository's root, as a user does, on a copy of a shipped config with one typo."""
    write, where, what = TYPOS[typo]
    result = subprocess.run(
        [SNAKEMAKE, "-n", "--cores", "1", "--configfile", str(write(tmp_path))],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert f"config {where}: Additional properties are not allowed ({what})" in output, output
    assert "Building DAG of jobs" not in output and "Job stats" not in output  # stopped before any job


# --- the schema and the code agree -------------------------------------------------------------------------


def _schema() -> dict[str, Any]:
    return yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())


def _model_schema(backend: str) -> dict[str, Any]:
    return _schema()["$defs"][f"{backend}_model"]


def _defaults(section: dict[str, Any]) -> dict[str, Any]:
    return {k: v["default"] for k, v in section["properties"].items() if "default" in v}


def _listed(values: dict[str, Any]) -> dict[str, Any]:
    """Tuples as the lists YAML gives."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def test_each_backend_takes_exactly_its_options_upstream_and_recipe() -> None:
    from sgt.models.backends import BACKENDS
    from sgt.models.backends.run import config_keys

    models = _schema()["properties"]["models"]["additionalProperties"]
    assert models["properties"]["backend"]["enum"] == sorted(
        BACKENDS, key=["tiny", "bagel", "omnigen2"].index
    )
    branches = {b["if"]["properties"]["backend"]["const"]: b["then"]["$ref"] for b in models["allOf"]}
    assert branches == {name: f"#/$defs/{name}_model" for name in BACKENDS}
    for name, cls in BACKENDS.items():
        entry = _model_schema(name)
        assert entry["additionalProperties"] is False
        assert set(entry["properties"]) == config_keys(name), name
        assert entry["properties"]["backend"]["const"] == name
        assert cls.recipe_section in entry["properties"]


def test_the_schema_defaults_are_the_codes() -> None:
    """Leaving a key out means what the code would do, so the schema's defaults cannot drift from it."""
    from sgt.models.backends import BACKENDS, bagel, omnigen2
    from sgt.models.backends.run import RUNTIME_OPTIONS
    from sgt.models.conv_stem import VIT_STEMS
    from sgt.models.tiny_inputs import EDITS
    from sgt.models.tiny_umm import TinyUMMConfig
    from sgt.train.corpus import CORPUS_DEFAULTS
    from sgt.train.engines import ENGINES
    from sgt.train.settings import loop_defaults
    from sgt.train.stages import PRETRAIN_EDITS, PRETRAIN_MIX, base_settings
    from sgt.train.tiny_backend import TinyBackend
    from sgt.train.vit_pretrain import ViTPretrainConfig

    tiny = _model_schema("tiny")["properties"]
    arch = tiny["architecture"]
    assert _defaults(arch) == dataclasses.asdict(TinyUMMConfig())
    assert arch["properties"]["vit_stem"]["enum"] == list(VIT_STEMS)
    pretrain = tiny["pretrain"]["properties"]
    _, filled = base_settings({}, {})
    for stage in ("vit", "understanding", "umm", "corpus"):
        assert _defaults(pretrain[stage]) == filled[stage], stage
        assert pretrain[stage]["additionalProperties"] is False
    assert _defaults(pretrain["vit"]) == dataclasses.asdict(ViTPretrainConfig())
    assert set(pretrain["vit"]["properties"]) == {f.name for f in dataclasses.fields(ViTPretrainConfig)}
    assert _defaults(pretrain["corpus"]) == CORPUS_DEFAULTS
    assert pretrain["mix"]["default"] == PRETRAIN_MIX == filled["mix"]
    assert pretrain["edits"]["default"] == list(PRETRAIN_EDITS) == filled["edits"]
    assert pretrain["edits"]["items"]["enum"] == list(EDITS)
    assert _defaults(tiny["finetune"]) == loop_defaults()
    assert set(tiny["finetune"]["properties"]) == {"steps", *loop_defaults()}
    recipe = TinyBackend.recipe_defaults()
    assert recipe == {k: loop_defaults()[k] for k in recipe}
    for section in (tiny["finetune"], pretrain["umm"]):
        assert section["properties"]["engine"]["enum"] == sorted(ENGINES, key=["torch", "deepspeed"].index)
    for name, module in (("bagel", bagel), ("omnigen2", omnigen2)):
        entry = _model_schema(name)
        fields = [f for f in dataclasses.fields(BACKENDS[name]) if f.name not in RUNTIME_OPTIONS]
        options = {f.name: f.default for f in fields if f.default is not dataclasses.MISSING}
        assert {k: v for k, v in _defaults(entry).items() if k != "upstream"} == options, name
        needed = {f.name for f in fields if f.default is dataclasses.MISSING}
        assert set(entry["required"]) == needed | {"backend", "upstream", "recipe"}, name
        assert _defaults(entry["properties"]["recipe"]) == _listed(module.RECIPE_EXTRA), name
        assert set(entry["properties"]["recipe"]["required"]) == {"lr", "warmup", "steps", "batch_size"}


def test_the_shipped_configs_fill_every_backend_default() -> None:
    """After validation every option a backend reads is in the config, at the code's default where unset."""
    from sgt.config import validate_config

    cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    validate_config(cfg, REPO / "workflow" / "schemas" / "config.schema.yaml")
    assert cfg["models"]["bagel"]["recipe"]["lr_scheduler"] == "constant"
    assert cfg["models"]["bagel"]["tokens_per_sample"] == 2400
    assert cfg["models"]["omnigen2"]["max_micro_batch"] == 2
    assert "lr_scheduler" not in cfg["models"]["omnigen2"]["recipe"]  # OmniGen2 reads no such key


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda t: t.update(backend="tinyy"),
            "models.tiny.backend: 'tinyy' is not one of ['tiny', 'bagel', ",
        ),
        (lambda t: t.update(upstream={"url": "x", "commit": "1" * 40}), "models.tiny: Additional properties"),
        (lambda t: t["pretrain"].update(corpus={"image": 5}), "models.tiny.pretrain.corpus: Additional"),
        (
            lambda t: t["pretrain"]["vit"].update(pool="avg"),
            "models.tiny.pretrain.vit.pool: 'avg' is not one",
        ),
        (lambda t: t["pretrain"].update(edits=["blur"]), "models.tiny.pretrain.edits.0: 'blur' is not one"),
        (lambda t: t["pretrain"]["understanding"].update(engine="torch"), "understanding: Additional"),
        (lambda t: t["finetune"].update(seed=3), "models.tiny.finetune: Additional properties"),
        (lambda t: t["architecture"].update(lm_layers="3"), "models.tiny.architecture.lm_layers: '3' is not"),
    ],
)
def test_a_bad_model_value_names_its_key(edit: Callable[[dict[str, Any]], None], message: str) -> None:
    from sgt.config import ConfigError, validate_config

    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    edit(cfg["models"]["tiny"])
    with pytest.raises(ConfigError, match=re.escape(message)):
        validate_config(cfg, REPO / "workflow" / "schemas" / "config.schema.yaml")


def test_a_cluster_model_needs_its_paths_and_table8() -> None:
    from sgt.config import ConfigError, validate_config

    for model, key, message in (
        ("omnigen2", "vae_path", "models.omnigen2: 'vae_path' is a required property"),
        ("bagel", "upstream", "models.bagel: 'upstream' is a required property"),
    ):
        cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
        del cfg["models"][model][key]
        with pytest.raises(ConfigError, match=re.escape(message)):
            validate_config(cfg, REPO / "workflow" / "schemas" / "config.schema.yaml")
    cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    del cfg["models"]["bagel"]["recipe"]["steps"]
    with pytest.raises(ConfigError, match=re.escape("models.bagel.recipe: 'steps' is a required property")):
        validate_config(cfg, REPO / "workflow" / "schemas" / "config.schema.yaml")
