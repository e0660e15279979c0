"""VLMEvalKit result files in their real format, rebuilt from the upstream evaluate() code paths.

Each ``write_*`` helper mirrors how VLMEvalKit builds and dumps that summary (``dump`` writes csv with
``to_csv(index=False, quoting=csv.QUOTE_ALL)`` and json with ``json.dump(indent=4)``) from per-question hits,
so the tests also check that our headline is the right aggregate, not just the right column.
"""

from __future__ import annotations

import csv
import json
import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from sgt.eval.vlmeval.adapter import (
    BENCHMARKS,
    EXACT_MATCHING,
    JUDGE_FELL_BACK,
    NEEDS_JUDGE,
    OFFICIAL_SERVER,
    PARSED_COLUMNS,
    JudgeConfig,
    find_result_file,
    judge_env,
    judge_fallbacks,
    judge_from_config,
    parse_vlmeval_results,
    read_metrics,
    vlmeval_command,
    write_vlmeval_config,
)

MODEL = "SGT_BAGEL"
JUDGE = JudgeConfig("gpt-4o-mini", "http://127.0.0.1:9/v1")


def dump_csv(df: pd.DataFrame, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_ALL)


def report_acc(df: pd.DataFrame) -> pd.DataFrame:
    """Shape of upstream utils/multiple_choice.py:report_acc: split rows, Overall, sorted categories."""
    if "split" not in df:
        df = df.assign(split="none")
    splits = sorted(set(df["split"]))
    res = {"split": splits, "Overall": [df[df["split"] == sp]["hit"].mean() for sp in splits]}
    for group in ("l2-category", "category"):
        if group in df:
            for ab in sorted(set(df[group])):
                sub = df[df[group] == ab]
                res[ab] = [sub[sub["split"] == sp]["hit"].mean() for sp in splits]
    return pd.DataFrame(res)


def d2df(d: dict) -> pd.DataFrame:
    return pd.DataFrame({k: [v] for k, v in d.items()})


def f1(y_true, y_pred):
    tp = np.sum((y_true == 1) & (y_pred == 1))
    fp = np.sum((y_true == 0) & (y_pred == 1))
    fn = np.sum((y_true == 1) & (y_pred == 0))
    p = tp / (tp + fp) if tp + fp else 0
    r = tp / (tp + fn) if tp + fn else 0
    return (2 * p * r / (p + r) if p + r else 0), p, r


def write_work_dir(root, judge_name="gpt-4o-mini"):
    """One run folder T<date> plus the symlinks run.py makes in <work-dir>/<model>/."""
    run = root / MODEL / "T20260101-120000"
    files = {}

    # CV-Bench-2D: per-source accuracy, Overall = mean over sources (ADE20K 3/4, COCO 1/2 -> 0.625, not 4/6)
    cv = pd.DataFrame({"split": "2D", "source": ["ADE20K"] * 4 + ["COCO"] * 2, "hit": [1, 1, 1, 0, 1, 0]})
    res = {"split": ["2D"]}
    for src in sorted(set(cv["source"])):
        res[src] = [cv[cv["source"] == src]["hit"].mean()]
    res = pd.DataFrame(res)
    res["Overall"] = (res["ADE20K"] + res["COCO"]) / 2
    files["CV-Bench-2D"] = ("_acc.csv", res)

    # MMVP: report_acc_MMVP -> Average (per question) and Overall (pairs)
    hits = [1, 1, 1, 0, 0, 1]
    pairs = [hits[2 * i] and hits[2 * i + 1] for i in range(3)]
    files["MMVP"] = ("_acc.csv", d2df({"Average": np.mean(hits), "Overall": np.mean(pairs)}))

    # MMMU_DEV_VAL: dev + validation splits, with categories
    mmmu = pd.DataFrame(
        {
            "split": ["dev"] * 2 + ["validation"] * 4,
            "category": ["Art", "Math", "Art", "Art", "Math", "Math"],
            "hit": [1, 1, 1, 0, 0, 0],
        }
    )
    files["MMMU_DEV_VAL"] = ("_acc.csv", report_acc(mmmu))
    # MMStar: no split column; category and l2-category
    mmstar = pd.DataFrame(
        {
            "category": ["coarse perception", "math"] * 2,
            "l2-category": ["a", "b", "a", "b"],
            "hit": [1, 1, 0, 1],
        }
    )
    files["MMStar"] = ("_acc.csv", report_acc(mmstar))
    for name in ("ScienceQA_VAL", "SEEDBench_IMG", "RealWorldQA", "BLINK"):
        files[name] = ("_acc.csv", report_acc(pd.DataFrame({"category": ["x", "y"], "hit": [1, 0]})))

    # POPE: POPE_rating -> split rows with Overall (F1), acc, precision, recall, all x100
    ans = np.array([1, 1, 0, 0, 1])
    pred = np.array([1, 0, 0, 1, 1])
    f, p, r = f1(ans, pred)
    files["POPE"] = (
        "_score.csv",
        pd.DataFrame(
            {
                "split": ["Overall", "adversarial"],
                "Overall": [f * 100, 50.0],
                "acc": [np.mean(ans == pred) * 100, 50.0],
                "precision": [p * 100, 50.0],
                "recall": [r * 100, 50.0],
            }
        ),
    )
    # HallusionBench: Hallusion_rating -> split rows with aAcc, fAcc, qAcc
    files["HallusionBench"] = (
        "_score.csv",
        pd.DataFrame(
            {
                "split": ["Overall", "VD", "VS"],
                "aAcc": [70.0, 60, 80],
                "fAcc": [40.0, 30, 50],
                "qAcc": [43.0, 40, 46],
            }
        ),
    )
    # MME: MME_rating -> perception, reasoning, then per-category scores (acc + acc+)
    mme = {"perception": 1500.0, "reasoning": 400.0, "OCR": 150.0, "existence": 190.0}
    files["MME"] = ("_score.csv", d2df(mme))
    # VSR-zeroshot: VSR_rating -> precision, recall, acc (x100) and f1_score (fraction)
    files["VSR-zeroshot"] = (
        "_score.csv",
        d2df({"precision": 80.0, "recall": 70.0, "acc": 75.0, "f1_score": 0.7467}),
    )
    # DocVQA_VAL: ImageVQADataset -> Overall ANLS x100
    files["DocVQA_VAL"] = ("_acc.csv", d2df({"Overall": 93.25}))
    # MathVista_MINI: MathVista_acc -> Task&Skill rows
    files["MathVista_MINI"] = (
        f"_{judge_name}_score.csv",
        pd.DataFrame(
            {
                "Task&Skill": ["Overall", "figure question answering", "algebraic reasoning"],
                "tot": [1000, 269, 281],
                "prefetch": [700, 200, 150],
                "hit": [722, 190, 200],
                "prefetch_rate": [70.0, 74.35, 53.38],
                "acc": [72.2, 70.63, 71.17],
            }
        ),
    )
    for name, (suffix, df) in files.items():
        dump_csv(df, run / f"{MODEL}_{name}{suffix}")
    # OCRBench: json summary
    ocr = {
        "Text Recognition": 250,
        "Scene Text-centric VQA": 180,
        "Doc-oriented VQA": 160,
        "Key Information Extraction": 170,
        "Handwritten Mathematical Expression Recognition": 50,
        "Final Score": 810,
        "Final Score Norm": 81.0,
    }
    (run / f"{MODEL}_OCRBench_score.json").write_text(json.dumps(ocr, indent=4, ensure_ascii=False))
    for f in run.iterdir():
        (root / MODEL / f.name).symlink_to(f.relative_to(root / MODEL))
    return run


ALL = [b for b in BENCHMARKS if b != "MMBench_TEST_EN_V11"]


@pytest.fixture
def work_dir(tmp_path):
    write_work_dir(tmp_path)
    return tmp_path


def headlines(table: pd.DataFrame) -> dict[str, float]:
    head = table[table["headline"]]
    assert head["benchmark"].is_unique
    return dict(zip(head["benchmark"], head["value"], strict=True))


def test_headlines_with_judge(work_dir):
    table = parse_vlmeval_results(work_dir, MODEL, "sgt", [*ALL, "MMBench_TEST_EN_V11"], JUDGE)
    assert tuple(table.columns) == PARSED_COLUMNS
    h = headlines(table)
    expected = {
        "CV-Bench-2D": 62.5,
        "MMVP": 100 * 4 / 6,
        "VSR-zeroshot": 75.0,
        "POPE": 100 * f1(np.array([1, 1, 0, 0, 1]), np.array([1, 0, 0, 1, 1]))[0],
        "HallusionBench": (70 + 40 + 43) / 3,
        "MMMU_DEV_VAL": 25.0,
        "MMStar": 75.0,
        "OCRBench": 81.0,
        "DocVQA_VAL": 93.25,
        "MathVista_MINI": 72.2,
        "ScienceQA_VAL": 50.0,
        "MME": 1900.0,
        "SEEDBench_IMG": 50.0,
        "RealWorldQA": 50.0,
        "BLINK": 50.0,
    }
    for name, value in expected.items():
        assert h[name] == pytest.approx(value), name
    assert math.isnan(h["MMBench_TEST_EN_V11"])
    note = table[table["benchmark"] == "MMBench_TEST_EN_V11"]["note"].item()
    assert note == OFFICIAL_SERVER
    assert not table[table["benchmark"] != "MMBench_TEST_EN_V11"]["note"].str.contains("judge").any()


def test_all_numbers_kept_and_scaled(work_dir):
    t = parse_vlmeval_results(work_dir, MODEL, "sgt", ALL, JUDGE)
    get = t.set_index(["benchmark", "metric"])["value"]
    assert get["MMVP", "Overall"] == pytest.approx(100 / 3)  # pair accuracy, in percent
    assert get["MMMU_DEV_VAL", "split=dev|Overall"] == 100.0
    assert get["MMMU_DEV_VAL", "split=validation|Math"] == 0.0
    assert get["MMStar", "split=none|coarse perception"] == 50.0
    assert get["VSR-zeroshot", "f1_score"] == pytest.approx(74.67)  # fraction in the file
    assert get["POPE", "split=adversarial|recall"] == 50.0
    assert get["HallusionBench", "split=VD|fAcc"] == 30.0
    assert get["OCRBench", "Final Score"] == 810
    assert get["MathVista_MINI", "Task&Skill=algebraic reasoning|acc"] == pytest.approx(71.17)
    assert get["MME", "perception"] == 1500.0
    assert set(t["source"]) >= {f"{MODEL}_MME_score.csv", f"{MODEL}_MathVista_MINI_gpt-4o-mini_score.csv"}


def test_no_judge_marks_rows(tmp_path):
    write_work_dir(tmp_path, judge_name="exact_matching")
    # without a judge, run.py never scores MathVista; drop the file a judged run would have made
    for f in (tmp_path / MODEL).rglob("*MathVista*"):
        f.unlink()
    t = parse_vlmeval_results(tmp_path, MODEL, "base", ALL, None)
    mv = t[t["benchmark"] == "MathVista_MINI"]
    assert len(mv) == 1 and math.isnan(mv["value"].item()) and mv["note"].item() == NEEDS_JUDGE
    assert (t[t["benchmark"] == "POPE"]["note"].str.contains(EXACT_MATCHING, regex=False)).all()
    assert (t[t["benchmark"] == "OCRBench"]["note"] == "").all()  # rule-based, no judge involved


def test_missing_file_keeps_a_row_with_vlmevalkits_reason(tmp_path):
    write_work_dir(tmp_path)
    (tmp_path / MODEL / f"{MODEL}_POPE_score.csv").unlink()
    for f in (tmp_path / MODEL).glob("T*/*POPE*"):
        f.unlink()
    t = parse_vlmeval_results(tmp_path, MODEL, "sgt", ["POPE", "MMStar"], JUDGE)
    pope = t[t["benchmark"] == "POPE"]
    assert len(pope) == 1 and math.isnan(pope["value"].item())
    assert "no entry in run.py's status.json" in pope["note"].item()
    assert headlines(t)["MMStar"] == 75.0  # the other dataset keeps its numbers
    # run.py records the dataset's exception (status_report.upsert_dataset_status) and goes on
    status = {"datasets": {"POPE": {"status": "done", "error_message": "CUDA out of memory"}}}
    (tmp_path / MODEL / "T20260101-120000" / "status.json").write_text(json.dumps(status))
    t = parse_vlmeval_results(tmp_path, MODEL, "sgt", ["POPE"], JUDGE)
    assert t["note"].item() == "failed in VLMEvalKit: CUDA out of memory"


def test_judge_that_failed_its_check_is_noted_per_dataset(work_dir):
    log = "\n".join(
        [
            "----------- MMStar -----------",
            "UserWarning: OPENAI API is not working properly, will use exact matching for evaluation",
            "----------- POPE -----------",
            "ok",
        ]
    )
    assert judge_fallbacks(log) == {"MMStar"}
    t = parse_vlmeval_results(work_dir, MODEL, "sgt", ["MMStar", "POPE", "OCRBench"], JUDGE, log_text=log)
    notes = t[t["headline"]].set_index("benchmark")["note"]
    assert notes["MMStar"] == JUDGE_FELL_BACK
    assert notes["POPE"] == "F1" and notes["OCRBench"] == ""


def test_mmbench_dev_headline(tmp_path):
    mmb = pd.DataFrame({"split": ["dev"] * 4, "category": ["a", "a", "b", "b"], "hit": [1, 1, 1, 0]})
    dump_csv(report_acc(mmb), tmp_path / MODEL / f"{MODEL}_MMBench_DEV_EN_V11_acc.csv")
    assert headlines(parse_vlmeval_results(tmp_path, MODEL, "sgt", ["MMBench_DEV_EN_V11"], None)) == {
        "MMBench_DEV_EN_V11": 75.0
    }


def test_finds_newest_run_without_symlinks(tmp_path):
    write_work_dir(tmp_path)
    for f in (tmp_path / MODEL).iterdir():
        if f.is_symlink():
            f.unlink()
    newer = tmp_path / MODEL / "T20260202-000000"
    dump_csv(d2df({"Overall": 50.0}), newer / f"{MODEL}_DocVQA_VAL_acc.csv")
    assert find_result_file(tmp_path, MODEL, "DocVQA_VAL", "x") == newer / f"{MODEL}_DocVQA_VAL_acc.csv"
    assert (
        headlines(parse_vlmeval_results(tmp_path, MODEL, "sgt", ["DocVQA_VAL"], JUDGE))["DocVQA_VAL"] == 50.0
    )


def test_changed_format_names_the_problem(tmp_path):
    dump_csv(d2df({"Accuracy": 0.5}), tmp_path / MODEL / f"{MODEL}_MMStar_acc.csv")
    with pytest.raises(ValueError, match="headline metric 'split=none\\|Overall'"):
        parse_vlmeval_results(tmp_path, MODEL, "sgt", ["MMStar"], JUDGE)
    with pytest.raises(KeyError, match="known"):
        parse_vlmeval_results(tmp_path, MODEL, "sgt", ["CVBench"], JUDGE)


def test_read_metrics_keeps_none_labels(tmp_path):
    p = tmp_path / "x_acc.csv"
    dump_csv(pd.DataFrame({"split": ["none"], "Overall": [0.5], "None": [0.25]}), p)
    assert read_metrics(p) == {"split=none|Overall": 0.5, "split=none|None": 0.25}


def test_command_without_judge():
    run = vlmeval_command(MODEL, ["MMStar", "MathVista_MINI", "MMBench_TEST_EN_V11", "POPE"], "/w", None)
    assert run.argv == (
        "python", "run.py", "--data", "MMStar", "POPE", "--model", MODEL,
        "--work-dir", "/w", "--mode", "all", "--reuse", "--judge", "exact_matching",
    )  # fmt: skip
    assert run.skipped == {"MathVista_MINI": NEEDS_JUDGE, "MMBench_TEST_EN_V11": OFFICIAL_SERVER}
    assert run.env == {}


def test_command_with_judge_and_config(tmp_path):
    cfg = write_vlmeval_config(
        tmp_path / "vlmeval.json",
        MODEL,
        "SGTBagel",
        {"model_path": "/ckpt"},
        ["CV-Bench-2D", "MathVista_MINI"],
    )
    assert json.loads(cfg.read_text()) == {
        "model": {MODEL: {"class": "SGTBagel", "model_path": "/ckpt"}},
        "data": {
            "CV-Bench-2D": {"class": "CVBench", "dataset": "CV-Bench-2D"},
            "MathVista_MINI": {"class": "MathVista", "dataset": "MathVista_MINI"},
        },
    }
    run = vlmeval_command(MODEL, ["CV-Bench-2D", "MathVista_MINI"], "/w", JUDGE, config=cfg)
    assert run.argv[2:4] == ("--config", str(cfg)) and "--data" not in run.argv
    assert run.argv[-2:] == ("--judge", "gpt-4o-mini")
    assert run.env["OPENAI_API_BASE"] == "http://127.0.0.1:9/v1/chat/completions"
    assert run.datasets == ("CV-Bench-2D", "MathVista_MINI") and not run.skipped


def test_judge_env_reads_key_at_run_time():
    assert judge_env(JUDGE, {"OPENAI_API_KEY": "k"}) == {
        "OPENAI_API_BASE": "http://127.0.0.1:9/v1/chat/completions",
        "OPENAI_API_KEY": "k",
    }
    with pytest.raises(KeyError, match="OPENAI_API_KEY"):
        judge_env(JUDGE, {})


def test_judge_from_config():
    assert judge_from_config(None) is None
    assert judge_from_config({"model": "gpt-4o-mini", "base_url": ""}) is None
    assert judge_from_config({"model": "m", "base_url": "http://h/v1"}) == JudgeConfig("m", "http://h/v1")
    with pytest.raises(ValueError, match="eval.judge.model"):
        judge_from_config({"base_url": "http://h/v1"})


def test_every_spec_is_consistent():
    classes = defaultdict(list)
    for spec in BENCHMARKS.values():
        classes[spec.dataset_class].append(spec.name)
        assert spec.suffix.endswith((".csv", ".json"))
    assert classes["ImageYORNDataset"] == ["VSR-zeroshot", "POPE", "HallusionBench", "MME"]
