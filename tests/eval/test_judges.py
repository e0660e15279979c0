"""GEdit-Bench-EN and DPG-Bench scoring of generation folders against a stand-in judge on 127.0.0.1: the
numbers when it answers, and NaN rows with a note (never a score) when it is absent, down, slow or garbled."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from stand_in_judge import closed_port_url, serve

from sgt.eval.dpg.run import score_dpg_folder
from sgt.eval.gedit.run import read_gedit_folder, score_gedit_folder
from sgt.eval.judge.chat import Endpoint, endpoint_from_config
from sgt.eval.judge.items import COLUMNS, NO_ENDPOINT

IDENT = {"model": "bagel", "variant": "sft", "seed": 0}
GEDIT_ITEMS = [  # key, group, language, instruction
    ("a1", "color_alter", "en", "make it blue"),
    ("a2", "color_alter", "en", "make it red"),
    ("b1", "style_change", "en", "paint it like van gogh"),
    ("c1", "color_alter", "cn", "把它变成蓝色"),  # not GEdit-Bench-EN: never asked
]
DPG_CSV = (
    "item_id,text,keywords,proposition_id,dependency,category_broad,category_detailed,tuple,"
    "question_natural_language\n"
    "skipped,t,k,1,0,entity,whole,entity - whole (x),Is there an x?\n"
    "item1,t,k,1,0,entity,whole,entity - whole (cat),Is there a cat?\n"
    'item1,t,k,2,1,attribute,color,"attribute - color (cat, red)",Is the cat red?\n'
    "item1,t,k,3,0,entity,whole,entity - whole (dog),Is there a dog?\n"
    'item1,t,k,4,3,relation,spatial,"relation - spatial (dog, cat, left)",Is the dog left of the cat?\n'
    "item2,t,k,1,0,entity,whole,entity - whole (bird),Is there a bird?\n"
)


def gedit_folder(root, items=GEDIT_ITEMS):
    folder = root / "gedit"
    lines = []
    for key, group, lang, instruction in items:
        sub = folder / "fullset" / group / lang
        sub.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (24, 16), "red").save(sub / f"{key}_SRCIMG.png")
        Image.new("RGB", (32, 32), "blue").save(sub / f"{key}.png")
        lines.append(
            json.dumps(
                {"key": key, "task_type": group, "instruction_language": lang, "instruction": instruction}
            )
        )
    (folder / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    prompts = root / "vie_prompts.py"
    prompts.write_text(
        "_context_no_delimit = 'CTX'\n_prompts_0shot_two_image_edit_rule = 'EDIT'\n"
        "_prompts_0shot_tie_rule_SC = 'SC: <instruction>'\n_prompts_0shot_rule_PQ = 'PQ'\n"
    )
    return folder, prompts


def dpg_folder(root, items=("item1", "item2")):
    folder = root / "dpg"
    folder.mkdir()
    for item in items:
        Image.fromarray(np.full((16, 16, 3), 90, np.uint8)).save(folder / f"{item}.png")
    (folder / "sgt_generation.json").write_text(json.dumps({"resolution": 8, "pic_num": 4}))
    (root / "dpg_bench.csv").write_text(DPG_CSV)
    return folder, root / "dpg_bench.csv"


def endpoint(url, **kw):
    return Endpoint(
        url, "stand-in-judge", api_key=kw.pop("api_key", "EMPTY"), **{"retries": 1, "backoff_s": 0.01} | kw
    )


def run_gedit(tmp_path, ep, **kw):
    folder, prompts = gedit_folder(tmp_path)
    out = tmp_path / "gedit.csv"
    score_gedit_folder(folder, prompts, ep, out, tmp_path / "work" / "gedit.jsonl", IDENT, **kw)
    return pd.read_csv(out)


def run_dpg(tmp_path, ep, **kw):
    folder, csv = dpg_folder(tmp_path)
    out = tmp_path / "dpg.csv"
    score_dpg_folder(folder, csv, ep, out, tmp_path / "work" / "dpg.jsonl", IDENT, **kw)
    return pd.read_csv(out)


def headline(table):
    (row,) = table[table["headline"]].to_dict("records")
    return row


def test_gedit_scores_with_a_good_judge(tmp_path):
    with serve() as judge:
        table = run_gedit(tmp_path, endpoint(judge.url))
    assert list(table.columns) == COLUMNS
    assert len(judge.requests) == 6  # SC and PQ for the three English items, none for the Chinese one
    # color_alter: SC 6 and 4, PQ 9 -> overall mean(sqrt(54), sqrt(36)); style_change: SC 8, PQ 9
    color, style = (math.sqrt(54) + 6) / 2, math.sqrt(72)
    top = headline(table)
    assert top["benchmark"] == "GEdit-Bench-En" and top["metric"] == "overall"
    assert top["value"] == pytest.approx((color + style) / 2, abs=1e-4)
    assert top["note"].startswith("groups without a scored item: background_change")
    values = table.set_index("metric")["value"]
    assert values["sc"] == pytest.approx(6.5) and values["pq"] == pytest.approx(9.0)
    assert values["color_alter/overall"] == pytest.approx(color, abs=1e-4)
    assert (table["model"] == "bagel").all() and (table["seed"] == 0).all()


def test_dpg_scores_with_a_good_judge(tmp_path):
    with serve() as judge:
        table = run_dpg(tmp_path, endpoint(judge.url))
    # item1: cat yes, red yes, dog no, "dog left" zeroed by its parent -> 50; item2: bird yes -> 100
    top = headline(table)
    assert top["benchmark"] == "DPG-Bench" and top["value"] == pytest.approx(75.0)
    assert pd.isna(top["note"])
    assert table.set_index("metric")["value"]["L1/relation"] == pytest.approx(100.0)
    assert len(judge.requests) == 4 * 5  # four samples per grid, five questions over the two items


@pytest.mark.parametrize("bench", ["gedit", "dpg"])
def test_no_endpoint_writes_nan_rows_with_the_note(tmp_path, bench, caplog):
    caplog.set_level(logging.WARNING)
    table = (run_gedit if bench == "gedit" else run_dpg)(tmp_path, endpoint_from_config(None))
    (row,) = table.to_dict("records")
    assert math.isnan(row["value"]) and row["note"] == NO_ENDPOINT and row["headline"]
    assert "no judge endpoint (set eval.judge)" in caplog.text


@pytest.mark.parametrize(
    ("mode", "said"),
    [("down", "Connection refused"), ("slow", "timed out"), ("http500", "HTTP 500")],
)
@pytest.mark.parametrize("bench", ["gedit", "dpg"])
def test_endpoint_down_slow_or_failing_is_a_logged_skip(tmp_path, bench, mode, said, caplog):
    caplog.set_level(logging.WARNING)
    run = run_gedit if bench == "gedit" else run_dpg
    if mode == "down":
        table = run(tmp_path, endpoint(closed_port_url()))
        asked = None
    else:
        with serve(mode, delay=1.0) as judge:
            table = run(tmp_path, endpoint(judge.url, timeout_s=0.3))
        asked = len(judge.requests)
    (row,) = table.to_dict("records")
    n = 3 if bench == "gedit" else 2
    assert math.isnan(row["value"]), row
    assert row["note"].startswith("not scored: judge endpoint http://127.0.0.1:")
    assert said in row["note"] and "check eval.judge.base_url" in row["note"]
    assert f"(after 2 tries); {n} of {n} items unscored" in row["note"] and "--forcerun score_" in row["note"]
    if asked is not None:
        assert asked == 2  # one item's first request, tried twice (retries: 1); then the job stops asking
    assert "try 2 of 2" in caplog.text and "judge unavailable (item " in caplog.text


@pytest.mark.parametrize("mode", ["not_json", "no_choices", "no_score"])
@pytest.mark.parametrize("bench", ["gedit", "dpg"])
def test_malformed_replies_leave_items_unscored_and_the_value_nan(tmp_path, bench, mode):
    with serve(mode) as judge:
        table = (run_gedit if bench == "gedit" else run_dpg)(tmp_path, endpoint(judge.url))
    (row,) = table.to_dict("records")
    n = 3 if bench == "gedit" else 2
    assert math.isnan(row["value"])
    assert row["note"] == (
        f"not scored: {n} of {n} items unscored (judge replies without a score), more than "
        "eval.judge.max_unscored_fraction = 0.05"
    )


@pytest.mark.parametrize("mode", ["good", "http500"])
def test_several_workers_give_the_same_numbers_and_stop_alike(tmp_path, mode):
    with serve(mode) as judge:
        table = run_gedit(tmp_path, endpoint(judge.url), workers=3)
    top = headline(table)
    if mode == "good":
        assert top["value"] == pytest.approx(((math.sqrt(54) + 6) / 2 + math.sqrt(72)) / 2, abs=1e-4)
        assert len(judge.requests) == 6
    else:
        assert math.isnan(top["value"]) and "3 of 3 items unscored" in top["note"]
        assert len(judge.requests) <= 3 * 2  # at most the items in flight, each tried twice


def test_a_few_unscored_items_are_left_out_and_counted(tmp_path):
    """One item's replies never hold a score: within the threshold, the value is over the other items."""
    items = [*GEDIT_ITEMS[:2], ("g1", "color_alter", "en", "garbage")]
    folder, prompts = gedit_folder(tmp_path, items)
    out = tmp_path / "gedit.csv"
    with serve() as judge:
        score_gedit_folder(
            folder, prompts, endpoint(judge.url), out, tmp_path / "c.jsonl", IDENT, max_unscored_fraction=0.5
        )
    assert len(judge.requests) == 2 * 2 + 2 + 1  # garbage: SC asked twice (max_tries), PQ once
    top = headline(pd.read_csv(out))
    assert top["value"] == pytest.approx((math.sqrt(54) + 6) / 2, abs=1e-4)
    assert top["note"].startswith("1 of 3 items unscored (judge replies without a score)")


def test_a_dpg_reply_that_is_neither_yes_nor_no_is_unscored(tmp_path):
    folder, csv = dpg_folder(tmp_path)
    csv.write_text(DPG_CSV + 'item2,t,k,2,1,attribute,shape,"attribute - shape (bird)",Is it round?\n')
    out = tmp_path / "dpg.csv"
    with serve() as judge:  # "Is it round?" gets "Maybe."
        score_dpg_folder(
            folder, csv, endpoint(judge.url), out, tmp_path / "c.jsonl", IDENT, max_unscored_fraction=0.5
        )
    top = headline(pd.read_csv(out))
    assert (
        top["value"] == pytest.approx(50.0)
        and top["note"] == "1 of 2 items unscored (judge replies without a score)"
    )


def test_rerun_asks_only_for_items_not_yet_scored(tmp_path):
    folder, prompts = gedit_folder(tmp_path)
    cache = tmp_path / "work" / "gedit.jsonl"
    out = tmp_path / "gedit.csv"
    with serve() as judge:
        score_gedit_folder(folder, prompts, endpoint(judge.url), out, cache, IDENT)
        first = headline(pd.read_csv(out))["value"]
        lines = cache.read_text().splitlines()
        cache.write_text("\n".join(lines[:2]) + "\n" + lines[2][:10])  # a job killed mid-line
        judge.requests.clear()
        score_gedit_folder(folder, prompts, endpoint(judge.url), out, cache, IDENT)
    assert len(judge.requests) == 2  # only b1 asked again
    assert headline(pd.read_csv(out))["value"] == pytest.approx(first)


def test_api_key_is_sent_but_never_written(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("SGT_TEST_JUDGE_KEY", "sk-stand-in-secret")
    with serve("http500") as judge:
        ep = endpoint_from_config(
            {
                "base_url": judge.url,
                "model": "m",
                "api_key_env": "SGT_TEST_JUDGE_KEY",
                "retries": 1,
                "backoff_s": 0,
            }
        )
        assert "sk-stand-in" not in repr(ep)
        run_dpg(tmp_path, ep)
    assert judge.auth and set(judge.auth) == {"Bearer sk-stand-in-secret"}
    written = (tmp_path / "dpg.csv").read_text() + caplog.text
    written += "".join(p.read_text() for p in (tmp_path / "work").glob("*") if p.is_file())
    assert "sk-stand-in" not in written


def test_bad_folders_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="rerun the GEdit generation job"):
        read_gedit_folder(tmp_path)
    folder, _ = gedit_folder(tmp_path)
    (folder / "fullset" / "style_change" / "en" / "b1.png").unlink()
    with pytest.raises(FileNotFoundError, match="b1.png: image of GEdit item b1 missing"):
        read_gedit_folder(folder)
    folder, csv = dpg_folder(tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path)
    (folder / "sgt_generation.json").write_text("{}")
    with pytest.raises(ValueError, match="needs integer 'resolution' and 'pic_num'"):
        score_dpg_folder(folder, csv, None, tmp_path / "o.csv", tmp_path / "c.jsonl", IDENT)
    with pytest.raises(ValueError, match="eval.judge.model"):
        endpoint_from_config({"base_url": "http://127.0.0.1:1/v1"})


STUDY = {
    "variants": {
        "sft": {"mix": {"vqa": 1}, "label": "SFT", "tables": {"table3": "SFT", "table9": "SFT"}},
        "sft_sgt": {
            "mix": {"vqa": 1, "panoptic": 2},
            "label": "SFT+SGT",
            "tables": {"table3": "SFT+SGT", "table9": "SFT+SGT"},
        },
    }
}


def report_tables(tmp_path, ep):
    """The scorers' CSVs for bagel x (sft, sft_sgt) through the paper_tables rule's function."""
    from sgt.report.build import write_paper_tables
    from sgt.report.reference import REFERENCE_TABLES

    reference = Path(__file__).resolve().parents[2] / "config" / "paper_reference"
    gfolder, prompts = gedit_folder(tmp_path)
    dfolder, csv = dpg_folder(tmp_path)
    csvs = []
    for variant in STUDY["variants"]:
        ident = IDENT | {"variant": variant}
        csvs += [tmp_path / variant / "gedit" / "seed0.csv", tmp_path / variant / "dpg" / "seed0.csv"]
        score_gedit_folder(gfolder, prompts, ep, csvs[-2], tmp_path / "w" / f"{variant}g.jsonl", ident)
        score_dpg_folder(dfolder, csv, ep, csvs[-1], tmp_path / "w" / f"{variant}d.jsonl", ident)
    understanding = tmp_path / "vlmeval.csv"  # what the vlmeval rule writes beside them, so no table is empty
    pd.DataFrame(
        [
            IDENT
            | {"variant": v, "benchmark": "MMStar", "metric": "accuracy", "value": 60.0, "headline": True}
            for v in STUDY["variants"]
        ]
    ).to_csv(understanding, index=False)
    csvs.append(understanding)
    outputs = {
        f"{t}_{e}": tmp_path / "tables" / f"{t}.{e}"
        for t in REFERENCE_TABLES
        for e in ("csv", "md", "tex", "html")
    }
    write_paper_tables(csvs, STUDY, reference, reference / "benchmarks.yaml", {"bagel": "BAGEL"}, outputs)
    return {
        t: (pd.read_csv(outputs[f"{t}_csv"]), outputs[f"{t}_md"].read_text()) for t in ("table3", "table9")
    }


def test_scores_land_in_table3_gedit_and_table9_dpg_beside_the_paper(tmp_path):
    with serve() as judge:
        tables = report_tables(tmp_path, endpoint(judge.url))
    long3, md3 = tables["table3"]
    gedit = long3[long3["column"] == "GEdit-Bench-En"].set_index("variant")
    assert set(gedit["paper_column"]) == {"GEdit-Bench-En"} and set(gedit["relation"]) == {"same"}
    assert gedit.loc["sft", "mean"] == pytest.approx((math.sqrt(54) + 6 + 2 * math.sqrt(72)) / 4, abs=1e-3)
    assert gedit.loc["sft", "paper_value"] == 6.49 and gedit.loc["sft_sgt", "paper_value"] == 6.94
    assert "paper BAGEL: GEdit-Bench-En (same)" in md3
    long9, md9 = tables["table9"]
    dpg = long9[long9["column"] == "DPG-Bench"].set_index("variant")
    assert dpg.loc["sft", "mean"] == pytest.approx(75.0) and dpg.loc["sft", "paper_value"] == 82.7
    assert dpg.loc["sft_sgt", "paper_value"] == 84.0 and "paper BAGEL: DPGBench (same)" in md9


def test_without_a_judge_the_tables_say_why_and_show_no_number(tmp_path):
    tables = report_tables(tmp_path, None)
    long3, md3 = tables["table3"]
    long9, md9 = tables["table9"]
    for long in (long3, long9):  # only the understanding column has values
        assert set(long["column"]) == {"MMStar"} and not long["mean"].isna().any()
    for md, column, bench in ((md3, "GEdit-Bench-En", "GEdit-Bench-En"), (md9, "DPGBench", "DPG-Bench")):
        assert f"**{column}** ({bench}: {NO_ENDPOINT})" in md, md


def test_an_endpoint_without_its_model_stops_at_config_validation():
    from sgt.config import ConfigError, validate_config

    schema = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"
    cfg = {"eval": {"judge": {"base_url": "http://127.0.0.1:1/v1"}}}
    with pytest.raises(ConfigError, match="eval.judge: 'model' is a required property"):
        validate_config(cfg, schema)
    cfg = {"eval": {"judge": {}}}
    validate_config(cfg, schema)
    assert cfg["eval"]["judge"]["base_url"] is None and endpoint_from_config(cfg["eval"]["judge"]) is None
    code = Endpoint("http://127.0.0.1:1/v1", "m")  # the schema's defaults are the code's
    filled = cfg["eval"]["judge"]
    assert (filled["timeout_s"], filled["retries"], filled["backoff_s"]) == (
        code.timeout_s,
        code.retries,
        code.backoff_s,
    )
