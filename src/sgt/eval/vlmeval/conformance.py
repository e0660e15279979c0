"""Does VLMEvalKit's own run.py accept what our adapter hands it? Run run.py's code on it and see.

Our adapter (``sgt.eval.vlmeval.adapter``: ``vlmeval_command`` builds run.py's argv, ``write_vlmeval_config``
its ``--config`` JSON) was written from reading VLMEvalKit. Reading drifts; this check executes VLMEvalKit's
own ``parse_args``, ``load``, ``build_model_from_config`` and ``build_dataset_from_config`` on our argv and
JSON, in a subprocess with VLMEvalKit's interpreter and the checkout as working directory, and reports per
model and dataset the class run.py resolves, where it is defined (``file:line``) and whether the dataset name
is one the class supports. Weights and data are never loaded: the probe (``_probe.py``) replaces the model
class's ``__init__`` by a recorder bound to the real signature and the dataset class's ``load_data`` by a
one-row table, and lists every replacement in the report.

It lives in the package, not under tests/, because it is a check to run against any checkout, e.g. the
workflow's ``results/upstream/vlmevalkit`` before a cluster run::

    python -m sgt.eval.vlmeval.conformance --checkout results/upstream/vlmevalkit \\
        --python /path/to/vlmeval-env/bin/python --configfile config/paper.yaml

CI runs the same code on a stand-in package with VLMEvalKit's module layout (tests/eval/stand_in_vlmevalkit).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sgt.eval.vlmeval.adapter import VLMEvalRun

PROBE = Path(__file__).with_name("_probe.py")
REPO = Path(__file__).resolve().parents[4]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

# Missing in a CPU interpreter: PyPI's torchvision wheels are CUDA builds that fail to import next to a CPU
# torch ("operator torchvision::nms does not exist"). Served only when the real module cannot be found.
DEFAULT_STAND_INS: tuple[str, ...] = ("torchvision",)

# What to change on our side for each kind of problem the probe reports.
FIXES: Mapping[str, str] = {
    "import": "install VLMEvalKit's requirements.txt into that interpreter, or name the missing module in "
    "stand_ins (--stand-in) if it is only needed at import time",
    "argv": "make sgt.eval.vlmeval.adapter.vlmeval_command emit only flags run.py's parse_args defines",
    "config": "fix sgt.eval.vlmeval.adapter.write_vlmeval_config",
    "model_class": "set eval.vlmeval.model_classes.<model> to a class of vlmeval.vlm (or vlmeval.api) at the "
    "pinned commit",
    "model_kwargs": "pass only named parameters of the class's __init__ (the model kwargs of "
    "sgt.eval.vlmeval.run)",
    "model_build": "see the message; run.py's build_model_from_config failed before any weights load",
    "dataset_class": "set dataset_class in sgt.eval.vlmeval.adapter.BENCHMARKS to the class vlmeval.dataset."
    "build_dataset picks for that name",
    "dataset_name": "use a name the class lists in supported_datasets() (eval.vlmeval.datasets)",
    "dataset_params": "fix the data entry written by sgt.eval.vlmeval.adapter.write_vlmeval_config",
    "dataset_build": "see the message; run.py's build_dataset_from_config failed with data loading stubbed",
}


class ConformanceError(RuntimeError):
    """VLMEvalKit's code rejected our argv or config, or the probe could not run at all."""


@dataclass(frozen=True, slots=True)
class ConformanceReport:
    """The probe's JSON report (see ``sgt.eval.vlmeval._probe``) and its problems as sentences."""

    data: dict[str, Any]

    @property
    def problems(self) -> list[str]:
        return [
            f"{p['kind']} {p['subject']}: {p['message']} (fix: {FIXES.get(p['kind'], 'see the message')})"
            for p in self.data.get("problems", [])
        ]

    @property
    def ok(self) -> bool:
        return not self.data.get("problems")

    def raise_for_problems(self) -> None:
        if not self.ok:
            where = f"VLMEvalKit at {self.data.get('checkout')} ({self.data.get('python')})"
            raise ConformanceError(f"{where} rejects our adapter:\n- " + "\n- ".join(self.problems))


def run_py_args(argv: Sequence[str]) -> list[str]:
    """The arguments after ``run.py`` in a ``vlmeval_command`` argv (``python run.py ARGS...``)."""
    argv = list(argv)
    for i, arg in enumerate(argv[:2]):
        if Path(arg).name == "run.py":
            return argv[i + 1 :]
    raise ValueError(f"not a run.py command line: {argv[:3]}...; pass VLMEvalRun.argv from vlmeval_command")


def _probe_env(lmu_data: Path, extra: Mapping[str, str] | None) -> dict[str, str]:
    """Our environment without our venv's paths, with every hub and data root pointed away."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(
        LMUData=str(lmu_data),  # VLMEvalKit's data root; else it creates ~/LMUData
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # litellm fetches a price list at import otherwise
    )
    env.update(extra or {})
    return env


def check_conformance(
    checkout: str | os.PathLike[str],
    python: str | os.PathLike[str],
    argv: Sequence[str],
    *,
    resolve: Sequence[str] = (),
    stand_ins: Sequence[str] = DEFAULT_STAND_INS,
    env: Mapping[str, str] | None = None,
    timeout: float = 900,
) -> ConformanceReport:
    """Run run.py's steps on ``argv`` (a ``VLMEvalRun.argv``) in ``checkout`` with ``python``.

    ``resolve`` adds dataset names to look up the way ``vlmeval.dataset.build_dataset`` does, without a
    config. A problem VLMEvalKit's code reports is in the returned report (``raise_for_problems``); a probe
    that cannot run at all raises ConformanceError.
    """
    checkout = Path(checkout).resolve()
    if not (checkout / "run.py").is_file() or not (checkout / "vlmeval").is_dir():
        raise ConformanceError(f"{checkout}: not a VLMEvalKit checkout (needs run.py and vlmeval/)")
    with tempfile.TemporaryDirectory(prefix="vlmeval-conformance-") as tmp:
        request, report = Path(tmp) / "request.json", Path(tmp) / "report.json"
        (Path(tmp) / "LMUData").mkdir()
        request.write_text(
            json.dumps(
                {
                    "checkout": str(checkout),
                    "argv": run_py_args(argv),
                    "resolve": list(resolve),
                    "stand_ins": list(stand_ins),
                }
            ),
            encoding="utf-8",
        )
        cmd = [str(python), str(PROBE), str(request), str(report)]
        try:
            done = subprocess.run(
                cmd,
                cwd=checkout,
                env=_probe_env(Path(tmp) / "LMUData", env),
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ConformanceError(f"interpreter {python} not found: pass VLMEvalKit's python") from exc
        except subprocess.TimeoutExpired as exc:
            raise ConformanceError(f"the probe ran past {timeout:.0f}s in {checkout}") from exc
        if done.returncode != 0 or not report.is_file():
            why = f"exit {done.returncode}, {python} in {checkout}"
            raise ConformanceError(f"the probe failed ({why}):\n{done.stderr[-3000:]}")
        return ConformanceReport(json.loads(report.read_text(encoding="utf-8")))


# ---------------------------------------------------------------- our invocation, from the project config


def vlmeval_settings(configfile: str | os.PathLike[str], schema: str | os.PathLike[str] = SCHEMA) -> dict:
    """``eval.vlmeval`` of a workflow config file, schema defaults filled in as the workflow does."""
    from sgt.io import read_yaml
    from sgt.schema import validate_config

    cfg = read_yaml(configfile) or {}
    validate_config(cfg, schema)
    return cfg["eval"]["vlmeval"]


def invocation_for(
    vlmeval_cfg: Mapping[str, Any],
    model: str,
    workdir: str | os.PathLike[str],
    *,
    checkpoint: str | None = None,
    variant: str = "base",
    seed: int = 0,
) -> VLMEvalRun:
    """The argv and ``--config`` JSON (under ``workdir``) ``sgt.eval.vlmeval.run.run_vlmeval`` would hand
    run.py for ``model``: its own builder (``vlmeval_invocation``), minus the launch."""
    from sgt.eval.vlmeval.run import vlmeval_invocation

    classes = vlmeval_cfg.get("model_classes", {})
    if model not in classes:
        raise KeyError(f"eval.vlmeval.model_classes has no entry for {model!r}: name its vlmeval.vlm class")
    workdir = Path(workdir)
    model_path = checkpoint or str(workdir / "checkpoint")
    return vlmeval_invocation(
        vlmeval_cfg, f"{model}-{variant}-seed{seed}", classes[model], model_path, workdir
    )


def invocation_warnings(run: VLMEvalRun) -> list[str]:
    """Our own inconsistencies run.py cannot see: datasets in the ``--config`` JSON that vlmeval_command
    left out. With ``--config``, run.py runs every ``data`` entry, so such a dataset is inferred in full and
    then fails or is scored by a rule we meant to avoid (MathVista_MINI asserts a working judge)."""
    args = run_py_args(run.argv)
    if "--config" not in args:
        return []
    data = json.loads(Path(args[args.index("--config") + 1]).read_text(encoding="utf-8"))["data"]
    return [
        f"{name}: in the --config JSON but skipped by vlmeval_command ({run.skipped[name]}); run.py would "
        "still run it: write only VLMEvalRun.datasets into the JSON"
        for name in data
        if name in run.skipped
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkout", required=True, help="VLMEvalKit checkout (has run.py and vlmeval/)")
    parser.add_argument("--python", default=sys.executable, help="interpreter with VLMEvalKit's requirements")
    parser.add_argument("--configfile", default=str(REPO / "config" / "paper.yaml"))
    parser.add_argument("--model", action="append", help="our model name (default: every model_classes key)")
    parser.add_argument("--resolve", nargs="*", default=[], help="more dataset names to look up")
    parser.add_argument("--stand-in", action="append", dest="stand_ins", help="module to stand in if missing")
    parser.add_argument("--out", help="write the JSON report here as well")
    args = parser.parse_args(argv)
    settings = vlmeval_settings(args.configfile)
    models = args.model or list(settings.get("model_classes", {}))
    if not models:
        parser.error(f"{args.configfile}: eval.vlmeval.model_classes is empty; name a model with --model")
    reports: dict[str, Any] = {}
    ok = True
    with tempfile.TemporaryDirectory(prefix="vlmeval-invocation-") as tmp:
        for model in models:
            run = invocation_for(settings, model, Path(tmp) / model)
            report = check_conformance(
                args.checkout,
                args.python,
                run.argv,
                resolve=args.resolve,
                stand_ins=args.stand_ins or DEFAULT_STAND_INS,
                env=run.env,
            )
            reports[model] = {
                "argv": list(run.argv),
                **report.data,
                "problems_text": report.problems,
                "warnings": invocation_warnings(run),
            }
            ok = ok and report.ok
    text = json.dumps(reports, indent=1)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
