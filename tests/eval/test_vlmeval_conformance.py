"""The VLMEvalKit conformance harness on the stand-in package (CI) and, when named, on a real checkout.

The stand-in (tests/eval/stand_in_vlmevalkit) has VLMEvalKit's module layout and the interfaces run.py's
steps use, so the harness runs here exactly as on the real code: the paper config's argv and JSON pass, and
each way of getting them wrong is reported by name. With SGT_VLMEVALKIT_CHECKOUT and SGT_VLMEVALKIT_PYTHON
set, the same invocation runs against the real run.py (docs/backends.md, "Conformance").
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from sgt.eval.vlmeval.adapter import BENCHMARKS, spec_for
from sgt.eval.vlmeval.conformance import (
    ConformanceError,
    ConformanceReport,
    check_conformance,
    invocation_for,
    invocation_warnings,
    run_py_args,
    vlmeval_settings,
)

REPO = Path(__file__).resolve().parents[2]
STAND_IN = Path(__file__).resolve().parent / "stand_in_vlmevalkit"
PAPER = REPO / "config" / "paper.yaml"


@pytest.fixture(scope="module")
def paper() -> dict:
    return vlmeval_settings(PAPER)


CHECKOUT = os.environ.get("SGT_VLMEVALKIT_CHECKOUT")
PYTHON = os.environ.get("SGT_VLMEVALKIT_PYTHON")
REAL = pytest.mark.skipif(
    not (CHECKOUT and PYTHON),
    reason="set SGT_VLMEVALKIT_CHECKOUT and SGT_VLMEVALKIT_PYTHON (a real checkout)",
)
# our default datasets after the lead's change, plus every name BENCHMARKS knows
NAMES = sorted(
    set(BENCHMARKS)
    | {
        "CV-Bench-2D", "MMVP", "VSR-zeroshot", "POPE", "HallusionBench", "MMMU_DEV_VAL", "MMStar", "OCRBench",
        "DocVQA_VAL", "MathVista_MINI", "ScienceQA_VAL", "MMBench_DEV_EN_V11", "SEEDBench_IMG", "RealWorldQA",
    }
)  # fmt: skip


def stand_in(argv, **kw) -> ConformanceReport:
    """The harness on the stand-in, with this interpreter (no stand-in modules needed here)."""
    return check_conformance(STAND_IN, sys.executable, argv, stand_ins=(), **kw)


def vlmevalkit(argv, **kw) -> ConformanceReport:
    """The harness on the real checkout named by the environment (torchvision stood in where missing)."""
    return check_conformance(CHECKOUT, PYTHON, argv, **kw)


@pytest.fixture(
    params=[pytest.param(stand_in, id="stand-in"), pytest.param(vlmevalkit, id="vlmevalkit", marks=REAL)]
)
def harness(request):
    """The same check on the stand-in (always) and on VLMEvalKit (when the environment names a checkout)."""
    return request.param


def problem_kinds(report: ConformanceReport) -> list[tuple[str, str]]:
    return [(p["kind"], p["subject"]) for p in report.data["problems"]]


def rewrite_config(argv, edit) -> None:
    path = Path(run_py_args(argv)[run_py_args(argv).index("--config") + 1])
    cfg = json.loads(path.read_text())
    edit(cfg)
    path.write_text(json.dumps(cfg))


def assert_conforms(report: ConformanceReport, run, classes: dict, model: str) -> None:
    """Every model and dataset of our JSON built by run.py's code, with the class our tables expect."""
    report.raise_for_problems()
    args = run_py_args(run.argv)
    config = args[args.index("--config") + 1]
    ours = json.loads(Path(config).read_text())
    run_name = f"{model}-base-seed0"
    built = report.data["models"][run_name]
    assert built["class"] == built["built"] == classes[model]
    assert built["kwargs"] == {"model_path": ours["model"][run_name]["model_path"]}
    assert set(report.data["datasets"]) == set(ours["data"])
    for name, got in report.data["datasets"].items():
        assert got["built"] == got["class"] == got["vlmevalkit_class"] == spec_for(name).dataset_class, name
        assert got["supported"] and got["dataset_name"] == name and got["dropped_params"] == []
        assert got["judge"] == report.data["args"]["judge"]
    assert report.data["args"]["config"] == config
    assert report.data["args"]["work_dir"] == args[args.index("--work-dir") + 1]


# ---------------------------------------------------------------- CI: the stand-in


@pytest.mark.parametrize("model", ["bagel", "omnigen2"])
def test_paper_invocation_conforms(harness, paper, model, tmp_path):
    run = invocation_for(paper, model, tmp_path)
    report = harness(run.argv, resolve=NAMES, env=run.env)
    out = os.environ.get("SGT_VLMEVALKIT_REPORT_DIR")
    if out and harness is vlmevalkit:
        Path(out, f"{model}.json").write_text(json.dumps({"argv": list(run.argv), **report.data}, indent=1))
    assert_conforms(report, run, paper["model_classes"], model)
    assert report.data["stubs"][0].startswith("network")
    assert any("__init__ replaced" in s for s in report.data["stubs"])
    assert any("load_data replaced" in s for s in report.data["stubs"])
    for name in NAMES:
        got = report.data["resolved"][name]
        assert got["name_at"], f"{name}: no class of vlmeval.dataset lists it"
        if name in BENCHMARKS:
            assert got["class"] == BENCHMARKS[name].dataset_class, f"{name}: BENCHMARKS says otherwise"


def test_unknown_model_class_is_named(harness, paper, tmp_path):
    run = invocation_for({**paper, "model_classes": {"bagel": "BAGEL"}}, "bagel", tmp_path)
    report = harness(run.argv)
    assert problem_kinds(report) == [("model_class", "bagel-base-seed0")]
    with pytest.raises(
        ConformanceError, match=r"Class BAGEL is not supported in `vlmeval.api` or `vlmeval.vlm`"
    ):
        report.raise_for_problems()
    with pytest.raises(ConformanceError, match=r"eval\.vlmeval\.model_classes"):
        report.raise_for_problems()


def test_missing_dataset_class_is_named(harness, paper, tmp_path):
    run = invocation_for(paper, "bagel", tmp_path)
    rewrite_config(run.argv, lambda cfg: cfg["data"]["POPE"].update({"class": "POPEDataset"}))
    report = harness(run.argv)
    assert problem_kinds(report) == [("dataset_class", "POPE")]
    with pytest.raises(ConformanceError, match=r"Class POPEDataset is not supported in `vlmeval.dataset`"):
        report.raise_for_problems()


def test_unknown_argv_flag_is_named(harness, paper, tmp_path):
    run = invocation_for(paper, "bagel", tmp_path)
    report = harness([*run.argv, "--frobnicate"])
    assert [p["kind"] for p in report.data["problems"]] == ["argv"]
    with pytest.raises(ConformanceError, match=r"unrecognized arguments: --frobnicate"):
        report.raise_for_problems()


def test_bad_choice_and_data_with_config_are_named(paper, tmp_path):
    run = invocation_for(paper, "bagel", tmp_path)
    bad_mode = stand_in([*run.argv, "--mode", "score"]).problems
    assert len(bad_mode) == 1 and "argument --mode: invalid choice: 'score'" in bad_mode[0]
    both = stand_in([*run.argv, "--data", "POPE"])
    assert ("argv", "--config") in problem_kinds(both)


def test_dataset_under_the_wrong_class_is_named(harness, paper, tmp_path):
    run = invocation_for(paper, "bagel", tmp_path)
    rewrite_config(run.argv, lambda cfg: cfg["data"]["MMVP"].update({"class": "OCRBench"}))
    problems = harness(run.argv).problems
    assert len(problems) == 1
    assert (
        "'MMVP' is not in OCRBench.supported_datasets(); build_dataset picks ImageMCQDataset" in problems[0]
    )


def test_swallowed_and_rejected_model_kwargs_are_named(paper, tmp_path):
    """Bagel takes **kwargs: a misspelt model_path would be swallowed and the default weights loaded."""
    run = invocation_for(paper, "bagel", tmp_path, checkpoint="/ckpt")
    rewrite_config(run.argv, lambda cfg: cfg["model"]["bagel-base-seed0"].update({"model_pth": "/x"}))
    assert "no parameter named model_pth" in stand_in(run.argv).problems[0]
    run = invocation_for({**paper, "model_classes": {"omnigen2": "Qwen2VLChat"}}, "omnigen2", tmp_path / "q")
    rewrite_config(run.argv, lambda cfg: cfg["model"]["omnigen2-base-seed0"].pop("model_path"))
    problems = stand_in(run.argv).problems
    assert len(problems) == 1 and "missing a required argument: 'model_path'" in problems[0]


def test_dropped_dataset_param_is_named(paper, tmp_path):
    """run.py builds config datasets with strict=False: an unknown param would vanish without a word."""
    run = invocation_for(paper, "bagel", tmp_path)
    rewrite_config(run.argv, lambda cfg: cfg["data"]["OCRBench"].update({"nframe": 8}))
    problems = stand_in(run.argv).problems
    assert len(problems) == 1 and "OCRBench.__init__ has no parameter nframe" in problems[0]


def test_probe_that_cannot_run_raises(paper, tmp_path):
    run = invocation_for(paper, "bagel", tmp_path)
    with pytest.raises(ConformanceError, match="not a VLMEvalKit checkout"):
        check_conformance(tmp_path, sys.executable, run.argv)
    with pytest.raises(ConformanceError, match="interpreter .* not found"):
        check_conformance(STAND_IN, tmp_path / "no-python", run.argv)
    with pytest.raises(ValueError, match="not a run.py command line"):
        run_py_args(["python", "main.py", "--config", "x"])


def test_datasets_the_command_skips_but_the_json_keeps_are_warned(tmp_path):
    """With --config, run.py runs every data entry: one vlmeval_command skipped must not be in the JSON."""
    from sgt.eval.vlmeval.adapter import vlmeval_command, write_vlmeval_config

    datasets = ["POPE", "MathVista_MINI"]
    config = write_vlmeval_config(tmp_path / "v.json", "m", "Bagel", {"model_path": "/c"}, datasets)
    run = vlmeval_command("m", datasets, tmp_path / "r", None, config=config)
    assert run.skipped == {"MathVista_MINI": "needs judge endpoint"}
    (warning,) = invocation_warnings(run)
    assert warning.startswith("MathVista_MINI: in the --config JSON but skipped by vlmeval_command")
    write_vlmeval_config(config, "m", "Bagel", {"model_path": "/c"}, run.datasets)
    assert invocation_warnings(run) == []
