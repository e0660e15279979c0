"""The real understanding path: VLMEvalKit's run.py command and config, and its result files as a tidy table.

Facts from open-compass/VLMEvalKit (run.py, vlmeval/dataset/image_{mcq,yorn,vqa}.py, utils/{multiple_choice,
yorn,mathvista}.py, smp/file.py): predictions go to ``<work-dir>/<model>/<eval_id>/<model>_<dataset>.xlsx``
(eval_id ``T%Y%m%d-%H%M%S``) and are symlinked, with every result file, into ``<work-dir>/<model>/``. Each
dataset's evaluate() writes one summary file next to the predictions:

- MCQ datasets: ``_acc.csv`` from ``report_acc`` (a ``split`` column, ``Overall`` and one column per category;
  fractions 0-1); CV-Bench-2D: ``split`` = 2D, one column per source, ``Overall`` = mean over sources; MMVP:
  one row, ``Average`` (per question) and ``Overall`` (both questions of a pair right).
- Y/N datasets: ``_score.csv`` in percent. POPE: rows per ``split`` with ``Overall`` (F1), ``acc``,
  ``precision``, ``recall``; HallusionBench: rows per ``split`` with ``aAcc``, ``fAcc``, ``qAcc``;
  MME: one row, ``perception``, ``reasoning`` and one column per sub-task; VSR-zeroshot: one row,
  ``precision``, ``recall``, ``acc`` in percent and ``f1_score`` as a fraction.
- OCRBench: ``_score.json`` with ``Final Score`` (0-1000) and ``Final Score Norm`` (0-100).
- DocVQA_VAL: ``_acc.csv``, ``Overall`` ANLS in percent.
- MathVista_MINI: ``_<judge>_score.csv``, rows ``Task&Skill`` with ``tot``, ``prefetch``, ``hit``,
  ``prefetch_rate``, ``acc``; it asserts a working judge, so without one there is no number.

MCQ and Y/N scorers call an LLM judge only for replies exact matching cannot map; without an endpoint they
fall back to exact matching (``--judge exact_matching``), which we note on each row. MMBench *TEST* splits
are scored only on the MMBench official server, so run.py skips their evaluation elsewhere.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sgt.io import atomic_write_json
from sgt.scores import score_columns

if TYPE_CHECKING:
    import pandas as pd

logger = logging.getLogger(__name__)

# one run's parsed table: the result record without the seed (the job adds it when it writes the run's CSV)
PARSED_COLUMNS = tuple(c for c in score_columns("headline", "note", "source") if c != "seed")
NEEDS_JUDGE = "needs judge endpoint"
EXACT_MATCHING = "exact matching (no judge)"
OFFICIAL_SERVER = "test split: VLMEvalKit scores it only on the MMBench official server"
JUDGE_FELL_BACK = (
    "judge endpoint failed VLMEvalKit's check (BaseAPI.working), so it scored by exact matching instead"
)
# run.py prints this before each dataset; ImageMCQDataset.evaluate warns the second when the judge fails
DATASET_HEADER = re.compile(r"-{11} (\S+) -{11}")
FALLBACK_WARNING = "OPENAI API is not working properly, will use exact matching"

JudgeUse = Literal["none", "optional", "required"]


@dataclass(frozen=True, slots=True)
class BenchmarkSpec:
    """Where a VLMEvalKit dataset's score lives and which number is its headline.

    ``scale`` turns the file's numbers into percent (100 for fraction files); ``metric_scale`` overrides
    it per metric. ``headline`` is a flattened metric key (``split=validation|Overall``) or a derived one.
    """

    name: str
    dataset_class: str
    suffix: str  # after "<model>_<dataset>"; "{judge}" is replaced by the judge model name
    headline: str
    judge: JudgeUse
    scale: float = 1.0
    metric_scale: Mapping[str, float] = field(default_factory=dict)
    note: str = ""


def _mcq(name: str, headline: str = "split=none|Overall", cls: str = "ImageMCQDataset", note: str = ""):
    return BenchmarkSpec(name, cls, "_acc.csv", headline, "optional", scale=100.0, note=note)


BENCHMARKS: dict[str, BenchmarkSpec] = {
    s.name: s
    for s in [
        _mcq("CV-Bench-2D", "split=2D|Overall", cls="CVBench", note="Overall = mean of per-source accuracy"),
        _mcq("MMVP", "Average", note="per-question accuracy; pair accuracy is 'Overall'"),
        BenchmarkSpec(
            "VSR-zeroshot",
            "ImageYORNDataset",
            "_score.csv",
            "acc",
            "optional",
            metric_scale={"f1_score": 100.0},
        ),
        BenchmarkSpec(
            "POPE", "ImageYORNDataset", "_score.csv", "split=Overall|Overall", "optional", note="F1"
        ),
        BenchmarkSpec(
            "HallusionBench",
            "ImageYORNDataset",
            "_score.csv",
            "split=Overall|avg",
            "optional",
            note="avg = mean of aAcc, fAcc, qAcc",
        ),
        _mcq("MMMU_DEV_VAL", "split=validation|Overall", cls="MMMUDataset"),
        _mcq("MMStar"),
        BenchmarkSpec("OCRBench", "OCRBench", "_score.json", "Final Score Norm", "none"),
        BenchmarkSpec("DocVQA_VAL", "ImageVQADataset", "_acc.csv", "Overall", "none", note="ANLS"),
        BenchmarkSpec(
            "MathVista_MINI", "MathVista", "_{judge}_score.csv", "Task&Skill=Overall|acc", "required"
        ),
        _mcq("ScienceQA_VAL"),
        BenchmarkSpec(
            "MME",
            "ImageYORNDataset",
            "_score.csv",
            "total",
            "optional",
            note="total = perception + reasoning",
        ),
        _mcq("SEEDBench_IMG"),
        _mcq("RealWorldQA"),
        _mcq("BLINK"),
        _mcq("MMBench_DEV_EN_V11", "split=dev|Overall", note="circular evaluation"),
        _mcq("MMBench_TEST_EN_V11", note="circular evaluation"),
    ]
}

# Paper columns no VLMEvalKit dataset can fill, and why (the report marks them; benchmarks.yaml names them).
NOT_IN_VLMEVALKIT: dict[str, str] = {
    "SIBench-mini": (
        "not in VLMEvalKit: no dataset class at the pinned commit (e8e78f05) reads SIBench; it ships with "
        "EASI's own toolkit"
    ),
}


@dataclass(frozen=True, slots=True)
class JudgeConfig:
    """An OpenAI-compatible chat endpoint; the key is read from the environment variable ``api_key_env``."""

    model: str
    base_url: str
    api_key_env: str = "OPENAI_API_KEY"


def judge_from_config(cfg: Mapping[str, Any] | None) -> JudgeConfig | None:
    """A JudgeConfig from the ``eval.judge`` config section, or None when no endpoint is set."""
    if not cfg or not cfg.get("base_url"):
        return None
    if not cfg.get("model"):
        raise ValueError("eval.judge.base_url is set but eval.judge.model is empty; name the judge model")
    return JudgeConfig(str(cfg["model"]), str(cfg["base_url"]), str(cfg.get("api_key_env", "OPENAI_API_KEY")))


def spec_for(dataset: str) -> BenchmarkSpec:
    if dataset not in BENCHMARKS:
        raise KeyError(f"unknown VLMEvalKit dataset {dataset!r}; known: {sorted(BENCHMARKS)}")
    return BENCHMARKS[dataset]


def skip_reason(dataset: str, judge: JudgeConfig | None) -> str | None:
    """Why run.py would produce no score for ``dataset`` under this judge setting, or None."""
    spec = spec_for(dataset)
    if spec.judge == "required" and judge is None:
        return NEEDS_JUDGE
    if dataset.startswith("MMBench_TEST"):
        return OFFICIAL_SERVER
    return None


def scorable(datasets: Sequence[str], judge: JudgeConfig | None) -> tuple[tuple[str, ...], dict[str, str]]:
    """The datasets run.py can score under this judge setting, and why each other one cannot."""
    skipped = {d: r for d in datasets if (r := skip_reason(d, judge)) is not None}
    return tuple(d for d in datasets if d not in skipped), skipped


# ---------------------------------------------------------------- command line and config JSON


@dataclass(frozen=True, slots=True)
class VLMEvalRun:
    argv: tuple[str, ...]
    env: Mapping[str, str]
    datasets: tuple[str, ...]  # those run.py will score
    skipped: Mapping[str, str]  # dataset -> why it has no score


def write_vlmeval_config(
    path: str | os.PathLike[str],
    model_name: str,
    model_class: str,
    model_kwargs: Mapping[str, Any],
    datasets: Sequence[str],
) -> Path:
    """run.py ``--config`` JSON: our model entry (a class in ``vlmeval.vlm``) and one entry per dataset."""
    data = {d: {"class": spec_for(d).dataset_class, "dataset": d} for d in datasets}
    atomic_write_json(
        path, {"model": {model_name: {"class": model_class, **dict(model_kwargs)}}, "data": data}
    )
    return Path(path)


def vlmeval_command(
    model: str,
    datasets: Sequence[str],
    work_dir: str | os.PathLike[str],
    judge: JudgeConfig | None,
    *,
    config: str | os.PathLike[str] | None = None,
    run_py: str = "run.py",
    python: str = "python",
    mode: str = "all",
    reuse: bool = True,
) -> VLMEvalRun:
    """The ``run.py`` invocation for ``model`` on ``datasets``, minus those that could yield no score.

    With a judge, ``--judge`` names it and ``OPENAI_API_BASE`` points VLMEvalKit's OpenAI wrapper at it
    (the key comes from ``judge.api_key_env`` at run time, never from config). Without one,
    ``--judge exact_matching`` and judge-only datasets are left out. With ``config`` the model and data
    come from that JSON instead.
    """
    run, skipped = scorable(datasets, judge)
    argv = [python, run_py]
    if config is not None:
        argv += ["--config", str(config)]
    else:
        argv += ["--data", *run, "--model", model]
    argv += ["--work-dir", str(work_dir), "--mode", mode]
    if reuse:
        argv.append("--reuse")
    env: dict[str, str] = {}
    if judge is None:
        argv += ["--judge", "exact_matching"]
    else:
        argv += ["--judge", judge.model]
        env["OPENAI_API_BASE"] = f"{judge.base_url.rstrip('/')}/chat/completions"
    return VLMEvalRun(tuple(argv), env, run, skipped)


def judge_env(judge: JudgeConfig, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """OPENAI_API_BASE and OPENAI_API_KEY for run.py, the key read now from ``judge.api_key_env``."""
    environ = os.environ if environ is None else environ
    key = environ.get(judge.api_key_env)
    if not key:
        raise KeyError(
            f"judge key variable {judge.api_key_env} is not set; export it (eval.judge.api_key_env)"
        )
    return {"OPENAI_API_BASE": f"{judge.base_url.rstrip('/')}/chat/completions", "OPENAI_API_KEY": key}


# ---------------------------------------------------------------- result files -> tidy table


def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def flatten_table(df: pd.DataFrame) -> dict[str, float]:
    """VLMEvalKit's own flattening: non-numeric columns label the row (``split=dev|Overall``)."""
    import pandas as pd

    numeric = [c for c in df.columns if pd.to_numeric(df[c], errors="coerce").notna().any()]
    dims = [c for c in df.columns if c not in numeric]
    out: dict[str, float] = {}
    for _, row in df.iterrows():
        prefix = "|".join(
            f"{c}={str(row[c]).strip()}" for c in dims if not pd.isna(row[c]) and str(row[c]).strip()
        )
        for c in numeric:
            if _is_number(row[c]):
                out[f"{prefix}|{c}" if prefix else str(c)] = float(row[c])
    return out


def read_metrics(path: str | os.PathLike[str]) -> dict[str, float]:
    """Numbers in one VLMEvalKit summary file (csv or json) as flat ``{metric: value}``."""
    import pandas as pd

    p = Path(path)
    if p.suffix == ".json":
        obj = json.loads(p.read_text(encoding="utf-8"))
        if not isinstance(obj, dict):
            raise ValueError(f"{p}: expected a JSON object of scores, got {type(obj).__name__}")
        return {str(k): float(v) for k, v in obj.items() if _is_number(v)}
    if p.suffix == ".csv":
        # keep_default_na off: MMStar/Seed categories like "None" must stay labels, not become NaN
        return flatten_table(pd.read_csv(p, keep_default_na=False, na_values=[""]))
    raise ValueError(f"{p}: unsupported result file type; VLMEvalKit summaries are .csv or .json")


def _derive(dataset: str, metrics: dict[str, float]) -> dict[str, float]:
    out = dict(metrics)
    if dataset == "HallusionBench":
        parts = [metrics.get(f"split=Overall|{k}") for k in ("aAcc", "fAcc", "qAcc")]
        if all(p is not None for p in parts):
            out["split=Overall|avg"] = sum(parts) / 3  # type: ignore[arg-type]
    if dataset == "MME" and "perception" in metrics and "reasoning" in metrics:
        out["total"] = metrics["perception"] + metrics["reasoning"]
    return out


def find_result_file(work_dir: str | os.PathLike[str], model: str, dataset: str, judge: str) -> Path | None:
    """The summary file run.py left for (model, dataset): the symlink in ``<model>/``, else the newest run."""
    name = f"{model}_{dataset}{spec_for(dataset).suffix.format(judge=judge)}"
    root = Path(work_dir) / model
    if (root / name).is_file():
        return root / name
    runs = sorted((p for p in root.glob("T*") if p.is_dir()), reverse=True) if root.is_dir() else []
    for run in runs:
        if (run / name).is_file():
            return run / name
    return None


def tidy_rows(
    model: str, variant: str, dataset: str, metrics: Mapping[str, float], note: str, source: str
) -> list[dict[str, Any]]:
    spec = spec_for(dataset)
    metrics = _derive(dataset, dict(metrics))
    if spec.headline not in metrics:
        raise ValueError(
            f"{source}: headline metric {spec.headline!r} of {dataset} not found (have {sorted(metrics)}); "
            "the VLMEvalKit output format changed, update BENCHMARKS in sgt.eval.vlmeval.adapter"
        )
    rows = []
    for key, value in metrics.items():
        scale = spec.metric_scale.get(key.rsplit("|", 1)[-1], spec.scale)
        is_head = key == spec.headline
        row_note = "; ".join(n for n in (spec.note if is_head else "", note) if n)
        rows.append(
            dict(
                zip(
                    PARSED_COLUMNS,
                    (model, variant, dataset, key, value * scale, is_head, row_note, source),
                    strict=True,
                )
            )
        )
    return rows


def _empty_row(model: str, variant: str, dataset: str, note: str, source: str = "") -> dict[str, Any]:
    return dict(
        zip(
            PARSED_COLUMNS,
            (model, variant, dataset, spec_for(dataset).headline, math.nan, True, note, source),
            strict=True,
        )
    )


def run_statuses(work_dir: str | os.PathLike[str], model: str) -> dict[str, dict[str, Any]]:
    """Per-dataset records of run.py's ``<work-dir>/<model>/T*/status.json``, the newest run's first.

    VLMEvalKit (vlmeval/smp/status_report.py, ``upsert_dataset_status``) records each dataset's ``status``,
    ``skip_reason`` or ``error_message`` there; run.py catches a dataset's exception, records it and goes on.
    """
    root = Path(work_dir) / model
    out: dict[str, dict[str, Any]] = {}
    runs = sorted((p for p in root.glob("T*") if p.is_dir()), reverse=True) if root.is_dir() else []
    for run in runs:
        try:
            datasets = json.loads((run / "status.json").read_text(encoding="utf-8")).get("datasets", {})
        except (OSError, ValueError):
            continue
        for name, record in datasets.items():
            if isinstance(record, dict):
                out.setdefault(name, record)
    return out


def judge_fallbacks(log_text: str) -> set[str]:
    """Datasets whose judge failed VLMEvalKit's ``working()`` check, so exact matching scored them silently.

    run.py's log is split at its ``----------- <dataset> -----------`` headers; a dataset whose section holds
    the MCQ scorer's fallback warning was not judged, whatever ``--judge`` said.
    """
    found: set[str] = set()
    current: str | None = None
    for line in log_text.splitlines():
        if m := DATASET_HEADER.search(line):
            current = m.group(1)
        elif current is not None and FALLBACK_WARNING in line:
            found.add(current)
    return found


def _missing_reason(dataset: str, judge: JudgeConfig | None, status: Mapping[str, Any] | None) -> str:
    """Why a dataset has no summary file: our own skip, VLMEvalKit's recorded error or skip, or unknown."""
    if (reason := skip_reason(dataset, judge)) is not None:
        return reason
    if status:
        if status.get("error_message"):
            return f"failed in VLMEvalKit: {status['error_message']}"
        if status.get("skip_reason"):
            return f"skipped by VLMEvalKit: {status['skip_reason']}"
        return f"no result file; VLMEvalKit left it at status {status.get('status', '?')!r}"
    return "no result file and no entry in run.py's status.json; see the job log"


def parse_vlmeval_results(
    work_dir: str | os.PathLike[str],
    model: str,
    variant: str,
    datasets: Sequence[str],
    judge: JudgeConfig | None,
    *,
    log_text: str = "",
) -> pd.DataFrame:
    """Tidy table (PARSED_COLUMNS) of every number VLMEvalKit wrote for ``model``; rates in percent.

    A dataset without a summary file keeps one NaN headline row whose note says why (judge-only without a
    judge, MMBench test split, or the error run.py recorded in status.json), so one failed dataset never
    costs the others their numbers. ``log_text`` (run.py's output) marks rows whose judge silently fell back
    to exact matching.
    """
    import pandas as pd

    rows: list[dict[str, Any]] = []
    judge_name = judge.model if judge else "exact_matching"
    statuses = run_statuses(work_dir, model)
    fell_back = judge_fallbacks(log_text) if judge is not None else set()
    for dataset in datasets:
        spec = spec_for(dataset)
        path = find_result_file(work_dir, model, dataset, judge_name)
        if path is None:
            reason = _missing_reason(dataset, judge, statuses.get(dataset))
            logger.warning("%s/%s %s: %s", model, variant, dataset, reason)
            rows.append(_empty_row(model, variant, dataset, reason))
            continue
        note = ""
        if spec.judge == "optional" and judge is None:
            note = EXACT_MATCHING
        elif spec.judge != "none" and dataset in fell_back:
            note = JUDGE_FELL_BACK
        rows.extend(tidy_rows(model, variant, dataset, read_metrics(path), note, path.name))
    table = pd.DataFrame(rows, columns=list(PARSED_COLUMNS))
    logger.info("parsed %d VLMEvalKit metrics for %s/%s", len(table), model, variant)
    return table
