"""data.llava: subsets with counts, or the shipped mixture file; mistakes stop the run naming the fix."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from sgt.config import ConfigError, check_config, resolve_repo_paths
from sgt.data.llava_mixture import llava_settings, load_mixture

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "config" / "llava_onevision_sgt.yaml"
LLAVA = {
    "repo": "lmms-lab/LLaVA-OneVision-Data",
    "revision": "main",
    "subsets": {},
    "mixture": None,
    "seed": None,
}


def test_the_shipped_mixture_is_the_sgt_download_script():
    subsets, source, repo = load_mixture(SHIPPED)
    assert "song2yu/SGT download_ov.py@e004548" in source and repo == LLAVA["repo"]
    assert len(subsets) == 23 and sum(subsets.values()) == 74_000
    categories = yaml.safe_load(SHIPPED.read_text())["categories"]
    assert {c: sum(m.values()) for c, m in categories.items()} == {
        "General": 10_100,
        "Doc_Chart_Screen": 20_600,
        "Math_Reasoning": 20_100,
        "General_OCR": 8_900,
        "Language": 14_300,
    }
    assert "cambrian(filtered)" not in subsets and subsets["sharegpt4v(sam)"] == 1500
    settings = llava_settings({**LLAVA, "mixture": str(SHIPPED)}, seed=7)
    assert settings.subsets == subsets and settings.seed == 7 and settings.source == source


def test_subsets_in_config_and_their_seed():
    s = llava_settings({**LLAVA, "subsets": {"CLEVR-Math(MathV360K)": 5}, "seed": 3, "revision": "a" * 40}, 0)
    assert (s.subsets, s.seed, s.revision, s.source) == (
        {"CLEVR-Math(MathV360K)": 5},
        3,
        "a" * 40,
        "data.llava.subsets",
    )


@pytest.mark.parametrize(
    ("llava", "message"),
    [
        (
            {"files": ["x/train-0.parquet"]},
            r"data.llava.files was replaced.*data.llava.subsets.*data.llava.mixture",
        ),
        ({}, "set exactly one of subsets"),
        ({"subsets": {"a": 1}, "mixture": str(SHIPPED)}, "set exactly one of subsets"),
        ({"subsets": {"a/b": 1}}, "nested"),
        ({"subsets": {"..": 1}}, "unsafe path part"),
        ({"subsets": {"a": 0}}, r"data.llava.subsets.a: the sample count must be a positive integer"),
        ({"mixture": "nope.yaml"}, r"nope.yaml: mixture file not found \(data.llava.mixture\)"),
        (
            {"mixture": str(SHIPPED), "repo": "other/repo"},
            "set data.llava.repo: lmms-lab/LLaVA-OneVision-Data",
        ),
    ],
)
def test_bad_llava_settings_name_the_fix(llava, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        llava_settings({**LLAVA, **llava}, 0)


def test_mixture_files_are_checked(tmp_path):
    path = tmp_path / "mix.yaml"
    path.write_text("source: x\ncategories: {A: {s: 1}, B: {s: 2}}\n")
    with pytest.raises(ValueError, match="subset listed twice"):
        load_mixture(path)
    path.write_text("categories: {A: {s: 1}}\n")
    with pytest.raises(ValueError, match="name where the counts come from"):
        load_mixture(path)
    path.write_text("source: x\ncategories: {A: {s: 1}}\ntotal: 1\n")
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['total'\]"):
        load_mixture(path)


def test_paper_config_names_the_mixture_relative_to_the_repository(tmp_path, monkeypatch):
    from snakemake.utils import validate

    cfg = yaml.safe_load((REPO / "config" / "paper.yaml").read_text())
    validate(cfg, str(REPO / "workflow" / "schemas" / "config.schema.yaml"))
    monkeypatch.chdir(tmp_path)  # planning from another working directory still finds it
    resolve_repo_paths(cfg, REPO)
    assert cfg["data"]["llava"]["mixture"] == str(SHIPPED)
    check_config(cfg)
    cfg["data"]["llava"]["files"] = ["CLEVR-Math(MathV360K)/train-00000-of-00002.parquet"]
    with pytest.raises(ConfigError, match="data.llava.files was replaced"):
        check_config(cfg)


def test_mixture_yaml_syntax_error_names_the_file_and_line(tmp_path):
    """Issue #21 finding 8: a YAML syntax error named neither the file nor the line."""
    path = tmp_path / "mix.yaml"
    path.write_text("source: x\ncategories:\n  A: {s: 1\n  B: {t: 2}\n")  # unclosed flow mapping
    with pytest.raises(
        ValueError, match=rf"^{re.escape(str(path))}:4:4: not valid YAML: .*',' or '}}'.* from line 3\)"
    ):
        llava_settings({**LLAVA, "mixture": str(path)}, 0)
