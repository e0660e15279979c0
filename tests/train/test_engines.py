"""Both training engines (torch, DeepSpeed ZeRO-2) through the one loop: finite loss, exact resume, ckpt."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from sgt.models.tiny_inputs import PairSet, VQASet
from sgt.models.tiny_umm import TinyUMM, save_model
from sgt.testing.tiny import smallest_model, toy_sources
from sgt.train.engines import ENGINES, check_engine, make_engine
from sgt.train.loop import param_groups, train
from sgt.train.settings import TrainConfig

ENGINE_NAMES = ["torch", pytest.param("deepspeed", marks=pytest.mark.timeout(120))]
MIX = {"vqa": 1, "semantic": 1}


@pytest.fixture(autouse=True)
def _deepspeed_installed(request: pytest.FixtureRequest) -> None:
    if "deepspeed" in request.node.name:
        pytest.importorskip("deepspeed")


def _sources() -> dict[str, VQASet | PairSet]:
    return toy_sources()


def _model() -> TinyUMM:
    return smallest_model()


def _cfg(engine: str, steps: int) -> TrainConfig:
    return TrainConfig(
        steps=steps, batch_size=4, lr=1e-3, warmup=1, checkpoint_every=100, threads=1, engine=engine
    )


def _assert_same_weights(a: torch.nn.Module, b: torch.nn.Module) -> None:
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_three_steps_train_with_finite_loss(engine: str, tmp_path: Path) -> None:
    model = _model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    metrics = train(model, _sources(), MIX, _cfg(engine, 3), tmp_path)
    assert [m["step"] for m in metrics] == [1, 2, 3]
    assert all(torch.isfinite(torch.tensor(m["loss"])) for m in metrics)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())  # it learned something
    save_model(model, tmp_path / "out")  # no engine views left behind: the finished model saves as is


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_resume_matches_uninterrupted_training_exactly(engine: str, tmp_path: Path) -> None:
    cfg = _cfg(engine, 4)
    straight = _model()
    metrics_a = train(straight, _sources(), MIX, cfg, tmp_path / "a")
    train(_model(), _sources(), MIX, cfg, tmp_path / "b", stop_after=2)
    resumed = _model()  # a fresh model: weights and optimiser state come from the checkpoint only
    metrics_b = train(resumed, _sources(), MIX, cfg, tmp_path / "b")
    assert [m["step"] for m in metrics_b] == [1, 2, 3, 4]
    assert [m["loss"] for m in metrics_a] == [m["loss"] for m in metrics_b]
    _assert_same_weights(straight, resumed)


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_checkpoint_round_trip(engine: str, tmp_path: Path) -> None:
    """The ckpt folder has the same files for every engine; weights reload bit for bit, the optimiser
    state is plain tensors (weights_only) and a fresh engine takes it back unchanged."""
    from safetensors.torch import load_file

    model = _model()
    train(model, _sources(), MIX, _cfg(engine, 2), tmp_path)
    ckpt = tmp_path / "ckpt"
    assert sorted(p.name for p in ckpt.iterdir()) == ["model.safetensors", "optimizer.pt", "state.json"]
    reloaded = _model()
    reloaded.load_state_dict(load_file(str(ckpt / "model.safetensors")), strict=False)
    _assert_same_weights(model, reloaded)
    saved = torch.load(ckpt / "optimizer.pt", weights_only=True)
    fresh = make_engine(engine)
    fresh.setup(reloaded, param_groups(reloaded, _cfg(engine, 2)), _cfg(engine, 2))
    try:
        fresh.load_state_dict(saved)
        again = fresh.state_dict()
    finally:
        fresh.close()
    flat_saved, flat_again = _tensors(saved), _tensors(again)
    assert len(flat_saved) == len(flat_again) > 0
    for a, b in zip(flat_saved, flat_again, strict=True):
        assert torch.equal(a, b)


def _tensors(obj: object) -> list[torch.Tensor]:
    if isinstance(obj, torch.Tensor):
        return [obj]
    if isinstance(obj, dict):
        return [t for k in sorted(obj, key=str) for t in _tensors(obj[k])]
    if isinstance(obj, list | tuple):
        return [t for v in obj for t in _tensors(v)]
    return []


def test_engines_agree_on_the_first_steps(tmp_path: Path) -> None:
    """ZeRO-2 on one rank is the same AdamW on flat partitions: losses agree to float rounding."""
    pytest.importorskip("deepspeed")
    runs = {e: train(_model(), _sources(), MIX, _cfg(e, 3), tmp_path / e) for e in ("torch", "deepspeed")}
    for a, b in zip(runs["torch"], runs["deepspeed"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)


def test_resuming_with_another_engine_is_an_error(tmp_path: Path) -> None:
    train(_model(), _sources(), MIX, _cfg("torch", 2), tmp_path, stop_after=1)
    with pytest.raises(ValueError, match="written by engine 'torch'"):
        train(_model(), _sources(), MIX, _cfg("deepspeed", 2), tmp_path)


def test_unknown_engine_names_the_key(tmp_path: Path) -> None:
    assert {"torch", "deepspeed"} <= set(ENGINES)
    with pytest.raises(ValueError, match=r"models.<m>.finetune.engine.*'zero2'.*known: deepspeed, torch"):
        train(_model(), _sources(), MIX, _cfg("zero2", 1), tmp_path)
    with pytest.raises(ValueError, match=r"^models.tiny.finetune.engine: unknown"):
        check_engine("Torch", "models.tiny.finetune.engine")


def test_config_engine_reaches_the_loop_and_a_bad_one_stops_naming_the_key() -> None:
    import yaml
    from snakemake.utils import validate

    from sgt.config import ConfigError, check_config, validate_config
    from sgt.models.backends.run import recipe_for

    repo = Path(__file__).resolve().parents[2]
    schema = repo / "workflow" / "schemas" / "config.schema.yaml"
    cfg = yaml.safe_load((repo / "config" / "config.yaml").read_text())
    validate(cfg, str(schema))
    assert cfg["models"]["tiny"]["finetune"]["engine"] == "torch"  # the schema default
    cfg["models"]["tiny"]["finetune"]["engine"] = "deepspeed"
    check_config(cfg)
    recipe = recipe_for(cfg["models"]["tiny"], "sft", {"vqa": 1}, seed=0)
    assert TrainConfig.from_dict(recipe.extra, steps=recipe.steps).engine == "deepspeed"
    tiny = cfg["models"]["tiny"]
    for where, section in (("finetune", tiny["finetune"]), ("pretrain.umm", tiny["pretrain"]["umm"])):
        section["engine"] = "zero2"
        with pytest.raises(
            ConfigError, match=rf"^config models\.tiny\.{where}\.engine: 'zero2' is not one of"
        ):
            validate_config(cfg, schema)
        section["engine"] = "torch"


@pytest.mark.parametrize("engine", ENGINE_NAMES)
def test_a_generation_only_mix_trains_though_part_of_the_understanding_expert_gets_no_gradient(
    engine: str, tmp_path: Path
) -> None:
    """Task-only variants (Table 6) have no VQA: the noise tokens read the understanding expert's keys and
    values, never its last MLP or final norm, which then get no gradient at all."""
    model = _model()
    before = {k: v.clone() for k, v in model.gen_lm.state_dict().items()}
    metrics = train(model, _sources(), {"semantic": 1}, _cfg(engine, 2), tmp_path)
    assert all(torch.isfinite(torch.tensor(m["loss"])) for m in metrics)
    assert any(not torch.equal(before[k], v) for k, v in model.gen_lm.state_dict().items())
