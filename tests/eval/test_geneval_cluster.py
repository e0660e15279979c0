"""GenEval of the cluster models: the scoring job (rule score_geneval) on generated folders and the average
over generation seeds (the same job), with tiny random Mask2Former/CLIP weights loaded through the
config keys, and with a stand-in detector whose hand-written detections have known verdicts."""

from __future__ import annotations

import csv
import json
import os
import runpy
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import yaml
from PIL import Image

from sgt.eval.geneval.cluster import (
    COLUMNS,
    average_seeds,
    resolve_weights,
    rule_options,
    score_folder,
    scoring_detector,
)
from sgt.eval.geneval.detectors import register_detector
from sgt.eval.geneval.rules import TAGS, GenEvalOptions

REPO = Path(__file__).resolve().parents[2]
UPSTREAM_KEYS = {"filename", "tag", "prompt", "correct", "reason", "metadata", "details"}


def schema_scoring_defaults() -> dict:
    """eval.cluster_geneval.scoring as the config schema fills it when a config leaves it out."""
    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    props = schema["properties"]["eval"]["properties"]["cluster_geneval"]["properties"]["scoring"]
    return {k: v["default"] for k, v in props["properties"].items()}


def scoring_cfg(**over) -> dict:
    return schema_scoring_defaults() | over


def write_folder(root: Path, prompts: list[dict], images: list[list[np.ndarray]]) -> Path:
    """GenEval's layout as BAGEL's gen_images_mp.py writes it: <i:05>/metadata.jsonl, samples/<k:05>.png."""
    for index, (meta, imgs) in enumerate(zip(prompts, images, strict=True)):
        folder = root / f"{index:05d}"
        (folder / "samples").mkdir(parents=True)
        (folder / "metadata.jsonl").write_text(json.dumps(meta))
        for k, img in enumerate(imgs):
            Image.fromarray(img).save(folder / "samples" / f"{k:05d}.png")
    return root


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


# --- config defaults and weights ------------------------------------------------------------------------


def test_schema_defaults_are_geneval_s_own():
    cfg = schema_scoring_defaults()
    assert rule_options(cfg) == GenEvalOptions() == GenEvalOptions(0.3, 0.9, 16, 1.0, 0.1)
    assert cfg["detector"] == "mask2former_clip"
    assert cfg["detector_weights"] == "facebook/mask2former-swin-small-coco-instance"
    assert cfg["clip_weights"] == "openai/clip-vit-large-patch14"


def test_weights_hub_id_passes_and_a_missing_folder_names_the_key(tmp_path):
    assert resolve_weights("openai/clip-vit-large-patch14", "clip_weights") == "openai/clip-vit-large-patch14"
    assert resolve_weights(str(tmp_path), "clip_weights") == str(tmp_path)
    for missing in (str(tmp_path / "m2f"), "./weights/m2f", "weights/coco/m2f"):
        with pytest.raises(FileNotFoundError, match=r"eval\.cluster_geneval\.scoring\.detector_weights"):
            scoring_detector(scoring_cfg(detector_weights=missing))


def test_weights_that_do_not_load_name_the_keys(tiny_models, tmp_path):
    import shutil

    shutil.copytree(tiny_models / "m2f", tmp_path / "m2f")
    (tmp_path / "m2f" / "model.safetensors").unlink()  # a folder without safetensors weights
    cfg = scoring_cfg(
        detector_weights=str(tmp_path / "m2f"), clip_weights=str(tiny_models / "clip"), device="cpu"
    )
    with pytest.raises(OSError, match=r"eval\.cluster_geneval\.scoring.*local folders"):
        scoring_detector(cfg)


def test_bad_threshold_is_a_clear_error():
    with pytest.raises(ValueError, match="counting_threshold=1.5"):
        rule_options(scoring_cfg(counting_threshold=1.5))


# --- a: tiny random-weight Mask2Former and CLIP through the config keys -----------------------------------

PROMPTS = [
    {"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"},
    {
        "tag": "counting",
        "include": [{"class": "cat", "count": 2}],
        "exclude": [{"class": "cat", "count": 3}],
        "prompt": "a photo of two cats",
    },
    {
        "tag": "colors",
        "include": [{"class": "dog", "count": 1, "color": "red"}],
        "prompt": "a photo of a red dog",
    },
]


def test_tiny_mask2former_clip_scores_a_folder_and_seeds_average(tiny_models, tmp_path):
    rng = np.random.default_rng(0)
    cfg = scoring_cfg(
        detector_weights=str(tiny_models / "m2f"),
        clip_weights=str(tiny_models / "clip"),
        device="cpu",
        threshold=0.0,  # random weights score low: let every detection reach the colour classifier
    )
    results = {}
    for gseed in (0, 1):
        images = [[rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(2)] for _ in PROMPTS]
        folder = write_folder(tmp_path / f"gseed{gseed}", PROMPTS, images)
        results[gseed] = score_folder(folder, tmp_path / "scores" / f"gseed{gseed}" / "results.jsonl", cfg)
        rows = read_jsonl(results[gseed])
        assert len(rows) == 6 and all(set(r) == UPSTREAM_KEYS for r in rows)
        assert [r["tag"] for r in rows] == ["single_object"] * 2 + ["counting"] * 2 + ["colors"] * 2
        assert rows[5]["filename"].endswith("00002/samples/00001.png")
        assert all(isinstance(r["correct"], bool) and json.loads(r["metadata"]) for r in rows)
    out = tmp_path / "seed0.csv"
    average_seeds(results, out, model="bagel", variant="sft", seed=0)
    table = read_csv(out)
    assert tuple(table[0]) == COLUMNS
    metrics = [r["metric"] for r in table]
    # 3 tags + overall as means, each of those per generation seed, and the sd of the overall
    assert metrics[:4] == ["single_object", "counting", "colors", "overall"] and len(table) == 4 + 4 * 2 + 1
    assert [r["metric"] for r in table if r["headline"] == "True"] == ["overall"]
    assert {r["benchmark"] for r in table} == {"GenEval"} and {r["seed"] for r in table} == {"0"}


def test_hf_detector_gets_thresholds_and_label_map_from_config(tiny_models):
    det = scoring_detector(
        scoring_cfg(
            detector_weights=str(tiny_models / "m2f"),
            clip_weights=str(tiny_models / "clip"),
            device="cpu",
            label_map={"dog": "cat"},
            threshold=0.4,
            counting_threshold=0.7,
            max_objects=5,
        )
    )
    assert det.color_min_score == 0.4 and det.max_per_class == 5 and det.label_map == {"dog": "cat"}


# --- b: hand-made detections with known verdicts --------------------------------------------------------


@register_detector("handwritten_standin")
class HandWrittenDetectionsStandIn:
    """Stand-in detector (not a model): the red channel of pixel (0, 0) names the image, whose hand-written
    detections it returns."""

    def __init__(self, detections):
        self.detections = detections

    def detect(self, image):
        return self.detections[str(int(image[0, 0, 0]))]


def _det(label, score, box=(10, 10, 30, 30), color=None):
    return {"label": label, "score": score, "box": list(box), "color": color}


LEFT, RIGHT = (0, 20, 20, 40), (40, 20, 60, 40)
# per tag: (prompt metadata, detections of a correct image A, of an incorrect image B)
CASES = {
    "single_object": (
        {"include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"},
        [_det("dog", 0.5)],
        [_det("dog", 0.2), _det("cat", 0.9)],  # the dog is below the 0.3 threshold
    ),
    "two_object": (
        {
            "include": [{"class": "dog", "count": 1}, {"class": "cat", "count": 1}],
            "prompt": "a dog and a cat",
        },
        [_det("dog", 0.9, LEFT), _det("cat", 0.8, RIGHT)],
        [_det("dog", 0.9)],
    ),
    "counting": (
        {
            "include": [{"class": "cat", "count": 3}],
            "exclude": [{"class": "cat", "count": 4}],
            "prompt": "a photo of three cats",
        },
        [_det("cat", 0.95), _det("cat", 0.95), _det("cat", 0.92)],
        [_det("cat", 0.95), _det("cat", 0.95), _det("cat", 0.85)],  # the third is below 0.9 for counting
    ),
    "colors": (
        {"include": [{"class": "dog", "count": 1, "color": "red"}], "prompt": "a photo of a red dog"},
        [_det("dog", 0.8, color="red")],
        [_det("dog", 0.8, color="blue")],
    ),
    "position": (
        {
            "include": [
                {"class": "cat", "count": 1},
                {"class": "dog", "count": 1, "position": ["right of", 0]},
            ],
            "prompt": "a photo of a dog right of a cat",
        },
        [_det("cat", 0.8, LEFT), _det("dog", 0.8, RIGHT)],
        [_det("cat", 0.8, RIGHT), _det("dog", 0.8, LEFT)],
    ),
    "color_attr": (
        {
            "include": [
                {"class": "dog", "count": 1, "color": "red"},
                {"class": "cat", "count": 1, "color": "blue"},
            ],
            "prompt": "a photo of a red dog and a blue cat",
        },
        [_det("dog", 0.8, LEFT, "red"), _det("cat", 0.8, RIGHT, "blue")],
        [_det("dog", 0.8, LEFT, "red"), _det("cat", 0.8, RIGHT, "red")],
    ),
}
assert tuple(CASES) == TAGS


def _handmade(root: Path, verdicts: dict[str, str], offset: int = 0) -> tuple[Path, dict[str, list]]:
    """A folder with two images per tag, ``verdicts[tag]`` picking A (correct) or B (incorrect) for each;
    images are told apart by a pixel code from ``offset`` on (one detector serves several folders)."""
    prompts, images, detections = [], [], {}
    for t, (tag, (meta, good, bad)) in enumerate(CASES.items()):
        prompts.append({"tag": tag, **meta})
        row = []
        for k, pick in enumerate(verdicts[tag]):
            code = offset + 10 * t + k + 1
            detections[str(code)] = good if pick == "A" else bad
            img = np.zeros((64, 64, 3), np.uint8)
            img[0, 0, 0] = code
            row.append(img)
        images.append(row)
    return write_folder(root, prompts, images), detections


# gseed 0: single_object right twice, the rest one of two; gseed 1: counting wrong twice, the rest right
VERDICTS = {
    0: {tag: "AA" if tag == "single_object" else "AB" for tag in TAGS},
    1: {tag: "BB" if tag == "counting" else "AA" for tag in TAGS},
}


def test_handmade_detections_give_known_verdicts_and_seed_means(tmp_path):
    results = {}
    for gseed, verdicts in VERDICTS.items():
        folder, detections = _handmade(tmp_path / "gen" / f"gseed{gseed}", verdicts)
        cfg = scoring_cfg(detector="handwritten_standin", detector_args={"detections": detections})
        results[gseed] = score_folder(folder, tmp_path / "eval" / f"gseed{gseed}" / "results.jsonl", cfg)
        rows = read_jsonl(results[gseed])
        assert [r["correct"] for r in rows] == [p == "A" for tag in TAGS for p in verdicts[tag]], gseed
    wrong = {r["prompt"]: r["reason"] for r in read_jsonl(results[0]) if not r["correct"]}
    assert wrong["a photo of three cats"] == "expected cat>=3, found 2"
    assert wrong["a photo of a dog right of a cat"].startswith("expected dog right of target, found left of")
    out = tmp_path / "seed0.csv"
    average_seeds(results, out, model="bagel", variant="sft_sgt", seed=0)
    values = {r["metric"]: float(r["value"]) for r in read_csv(out)}
    expected = {
        "single_object": 100.0, "two_object": 75.0, "counting": 25.0, "colors": 75.0, "position": 75.0,
        "color_attr": 75.0,
    }  # fmt: skip
    for tag, v in expected.items():
        assert values[tag] == pytest.approx(v), tag
    # per seed: (100 + 5 x 50) / 6 and (5 x 100 + 0) / 6; the headline is their mean = the mean of tag means
    assert values["overall:gseed0"] == pytest.approx(350 / 6, abs=1e-4)
    assert values["overall:gseed1"] == pytest.approx(500 / 6, abs=1e-4)
    assert values["overall"] == pytest.approx(np.mean(list(expected.values())), abs=1e-4)
    assert values["counting:gseed0"] == 50.0 and values["counting:gseed1"] == 0.0
    assert values["overall:sd"] == pytest.approx(np.std([350 / 6, 500 / 6], ddof=1), abs=1e-4)


def test_counting_threshold_from_config_reaches_the_rules(tmp_path):
    folder, detections = _handmade(tmp_path / "gen", {tag: "B" for tag in TAGS})
    cfg = scoring_cfg(detector="handwritten_standin", detector_args={"detections": detections})
    strict = read_jsonl(score_folder(folder, tmp_path / "a.jsonl", cfg))
    loose = read_jsonl(score_folder(folder, tmp_path / "b.jsonl", cfg | {"counting_threshold": 0.8}))
    assert [r["tag"] for r in loose if r["correct"]] == ["counting"]
    assert not any(r["correct"] for r in strict)
    far = read_jsonl(score_folder(folder, tmp_path / "c.jsonl", cfg | {"threshold": 0.1}))
    assert [r["tag"] for r in far if r["correct"]] == ["single_object"]  # the 0.2 dog now counts


# --- c: averaging -----------------------------------------------------------------------------------------


def _results(path: Path, correct: list[bool], tag: str = "single_object") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [
        {"filename": f"{i:05d}.png", "tag": tag, "prompt": f"p{i}", "correct": c, "metadata": f'{{"i": {i}}}'}
        for i, c in enumerate(correct)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_two_seeds_average_to_their_mean(tmp_path):
    results = {
        3: _results(tmp_path / "g3.jsonl", [True, True, True, False]),  # 75
        7: _results(tmp_path / "g7.jsonl", [True, False, False, False]),  # 25
    }
    average_seeds(results, tmp_path / "seed2.csv", model="omnigen2", variant="sft", seed=2)
    rows = {r["metric"]: r for r in read_csv(tmp_path / "seed2.csv")}
    assert float(rows["overall"]["value"]) == 50.0 and rows["overall"]["headline"] == "True"
    assert float(rows["overall:gseed3"]["value"]) == 75.0 and float(rows["overall:gseed7"]["value"]) == 25.0
    assert "mean of 2 generation seeds (3, 7)" in rows["overall"]["note"]
    assert "tags missing: two_object" in rows["overall"]["note"]


def test_a_missing_seed_is_a_clear_error(tmp_path):
    results = {0: _results(tmp_path / "g0.jsonl", [True]), 5: tmp_path / "gseed5" / "results.jsonl"}
    with pytest.raises(FileNotFoundError, match=r"generation seed 5 has no GenEval results.*score_geneval"):
        average_seeds(results, tmp_path / "seed0.csv", model="bagel", variant="sft", seed=0)
    assert not (tmp_path / "seed0.csv").exists()


def test_seeds_with_different_prompt_sets_are_not_averaged(tmp_path):
    results = {0: _results(tmp_path / "g0.jsonl", [True, False]), 1: _results(tmp_path / "g1.jsonl", [True])}
    with pytest.raises(ValueError, match="different prompt sets"):
        average_seeds(results, tmp_path / "seed0.csv", model="bagel", variant="sft", seed=0)


# --- the rules' scripts -----------------------------------------------------------------------------------


def _script_job(tmp_path: Path, folders: dict[str, str], detections) -> SimpleNamespace:
    from snakemake.iocontainers import Namedlist

    return SimpleNamespace(
        input=Namedlist(fromdict=folders),
        output=Namedlist([str(tmp_path / "eval" / "seed4.csv")]),
        log=[str(tmp_path / "score.log")],
        params=SimpleNamespace(
            cfg=scoring_cfg(detector="handwritten_standin", detector_args={"detections": detections}),
            scores=str(tmp_path / "eval" / "seed4"),
        ),
        wildcards=SimpleNamespace(model="bagel", variant="sft", seed="4"),
    )


def _handmade_seeds(tmp_path: Path) -> tuple[dict[str, str], dict[str, list]]:
    """A generated folder per VERDICTS seed (the rule's ``gseed<g>`` inputs) and one detector's detections."""
    folders, detections = {}, {}
    for gseed, verdicts in VERDICTS.items():
        folder, found = _handmade(tmp_path / "gen" / f"gseed{gseed}", verdicts, offset=100 * gseed)
        folders[f"gseed{gseed}"] = str(folder)
        detections |= found
    return folders, detections


def test_rule_script_scores_every_seed_then_averages_from_a_snakemake_object(tmp_path, monkeypatch):
    monkeypatch.setattr("sgt.logs.setup_logging", lambda *a, **k: None)
    folders, detections = _handmade_seeds(tmp_path)
    job = _script_job(tmp_path, folders, detections)
    runpy.run_path(str(REPO / "workflow" / "scripts" / "score_geneval.py"), init_globals={"snakemake": job})
    for gseed in VERDICTS:
        assert (tmp_path / "eval" / "seed4" / f"gseed{gseed}" / "results.jsonl").is_file()
    rows = {r["metric"]: r for r in read_csv(tmp_path / "eval" / "seed4.csv")}
    assert rows["overall"]["seed"] == "4" and float(rows["overall"]["value"]) == pytest.approx(70.8333)
    assert {"overall:gseed0", "overall:gseed1"} <= set(rows)


def test_a_requeued_scoring_job_keeps_valid_seed_results_and_rescores_a_regenerated_folder(
    tmp_path, monkeypatch
):
    monkeypatch.setattr("sgt.logs.setup_logging", lambda *a, **k: None)
    folders, detections = _handmade_seeds(tmp_path)
    script = str(REPO / "workflow" / "scripts" / "score_geneval.py")
    runpy.run_path(script, init_globals={"snakemake": _script_job(tmp_path, folders, detections)})
    scores = {g: tmp_path / "eval" / "seed4" / f"gseed{g}" / "results.jsonl" for g in VERDICTS}
    before = {g: p.stat().st_mtime_ns for g, p in scores.items()}
    (tmp_path / "eval" / "seed4.csv").unlink()  # the job was cut after scoring, before the average
    # seed 1 regenerated: its images are newer than its scores, and now every verdict is wrong
    folder, found = _handmade(tmp_path / "gen" / "regen", {tag: "BB" for tag in TAGS}, offset=100)
    shutil.rmtree(folders["gseed1"])
    shutil.move(folder, folders["gseed1"])
    for image in Path(folders["gseed1"]).rglob("*.png"):
        os.utime(image, ns=(before[1] + 10**9, before[1] + 10**9))
    runpy.run_path(script, init_globals={"snakemake": _script_job(tmp_path, folders, detections | found)})
    assert scores[0].stat().st_mtime_ns == before[0]  # kept, not rescored
    assert scores[1].stat().st_mtime_ns != before[1]
    assert not any(r["correct"] for r in read_jsonl(scores[1]))
    rows = {r["metric"]: r for r in read_csv(tmp_path / "eval" / "seed4.csv")}
    assert float(rows["overall:gseed1"]["value"]) == 0.0
