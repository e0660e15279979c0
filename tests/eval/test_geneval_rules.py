"""GenEval rule cases derived from djghosh13/geneval evaluation/evaluate_images.py and summary_scores.py."""

from __future__ import annotations

import json

import pytest

from sgt.eval.geneval import rules as geneval
from sgt.eval.geneval.rules import evaluate, relative_position, summarize

H = W = 512


def det(label, score=0.95, box=(10, 10, 50, 50), color=None):
    return {"label": label, "score": score, "box": list(box), "color": color}


# Metadata rows exactly as prompts/create_prompts.py writes them.
SINGLE = {"tag": "single_object", "include": [{"class": "dog", "count": 1}], "prompt": "a photo of a dog"}
TWO = {
    "tag": "two_object",
    "include": [{"class": "cat", "count": 1}, {"class": "bench", "count": 1}],
    "prompt": "a photo of a cat and a bench",
}
COUNT3 = {
    "tag": "counting",
    "include": [{"class": "apple", "count": 3}],
    "exclude": [{"class": "apple", "count": 4}],
    "prompt": "a photo of three apples",
}
COLOR = {
    "tag": "colors",
    "include": [{"class": "car", "count": 1, "color": "red"}],
    "prompt": "a photo of a red car",
}
COLOR_ATTR = {
    "tag": "color_attr",
    "include": [
        {"class": "cup", "count": 1, "color": "blue"},
        {"class": "vase", "count": 1, "color": "yellow"},
    ],
    "prompt": "a photo of a blue cup and a yellow vase",
}
# "a photo of a dog left of a chair": clause 0 is the reference (chair), clause 1 carries the relation.
POSITION = {
    "tag": "position",
    "include": [{"class": "chair", "count": 1}, {"class": "dog", "count": 1, "position": ["left of", 0]}],
    "prompt": "a photo of a dog left of a chair",
}


def test_constants_match_upstream_defaults():
    assert geneval.THRESHOLD == 0.3
    assert geneval.COUNTING_THRESHOLD == 0.9
    assert geneval.MAX_OBJECTS == 16
    assert geneval.NMS_THRESHOLD == 1.0
    assert geneval.POSITION_THRESHOLD == 0.1
    assert geneval.TAGS == ("single_object", "two_object", "counting", "colors", "position", "color_attr")


class TestSingleObject:
    def test_found_above_threshold(self):
        assert evaluate(SINGLE, [det("dog", 0.31)], H, W) == (True, "")

    def test_threshold_is_strict(self):
        ok, reason = evaluate(SINGLE, [det("dog", 0.3)], H, W)
        assert not ok
        assert reason == "expected dog>=1, found 0"

    def test_other_class_does_not_count(self):
        ok, reason = evaluate(SINGLE, [det("cat", 0.99)], H, W)
        assert (ok, reason) == (False, "expected dog>=1, found 0")


class TestTwoObject:
    def test_both_present(self):
        assert evaluate(TWO, [det("cat"), det("bench", 0.4)], H, W)[0]

    def test_one_missing(self):
        ok, reason = evaluate(TWO, [det("cat"), det("bench", 0.2)], H, W)
        assert not ok and reason == "expected bench>=1, found 0"

    def test_both_missing_reports_both(self):
        ok, reason = evaluate(TWO, [], H, W)
        assert reason.splitlines() == ["expected cat>=1, found 0", "expected bench>=1, found 0"]


class TestCounting:
    def test_exact_count(self):
        assert evaluate(COUNT3, [det("apple", 0.95)] * 3, H, W) == (True, "")

    def test_counting_uses_stricter_threshold(self):
        dets = [det("apple", 0.95), det("apple", 0.95), det("apple", 0.9)]
        ok, reason = evaluate(COUNT3, dets, H, W)
        assert not ok and reason == "expected apple>=3, found 2"
        # the same detections pass a non-counting prompt, whose threshold is 0.3
        assert evaluate(SINGLE | {"include": [{"class": "apple", "count": 1}]}, dets, H, W)[0]

    def test_too_many_trips_exclude(self):
        ok, reason = evaluate(COUNT3, [det("apple", 0.95)] * 4, H, W)
        assert not ok and reason == "expected apple<4, found 4"

    def test_low_score_extra_is_ignored(self):
        assert evaluate(COUNT3, [det("apple", 0.95)] * 3 + [det("apple", 0.85)], H, W)[0]

    def test_at_most_16_per_class(self):
        meta = {
            "tag": "counting",
            "include": [{"class": "person", "count": 2}],
            "exclude": [{"class": "person", "count": 17}],
            "prompt": "x",
        }
        assert evaluate(meta, [det("person", 0.95)] * 20, H, W)[0]
        meta["exclude"] = [{"class": "person", "count": 16}]
        ok, reason = evaluate(meta, [det("person", 0.95)] * 20, H, W)
        assert not ok and reason == "expected person<16, found 16"

    def test_overlapping_boxes_are_not_merged(self):
        # upstream's max_overlap defaults to 1.0, which disables the overlap filter
        assert evaluate(COUNT3, [det("apple", 0.95, (0, 0, 10, 10))] * 3, H, W)[0]


class TestColors:
    def test_right_colour(self):
        assert evaluate(COLOR, [det("car", color="red")], H, W) == (True, "")

    def test_wrong_colour_reason(self):
        ok, reason = evaluate(COLOR, [det("car", color="blue")], H, W)
        assert not ok
        assert reason == "expected red car>=1, found 0 red; and 1 blue"

    def test_only_most_confident_object_is_checked(self):
        dets = [det("car", 0.5, color="red"), det("car", 0.9, color="blue")]
        assert not evaluate(COLOR, dets, H, W)[0]
        dets = [det("car", 0.9, color="red"), det("car", 0.5, color="blue")]
        assert evaluate(COLOR, dets, H, W)[0]

    def test_missing_object_skips_colour(self):
        assert evaluate(COLOR, [], H, W) == (False, "expected car>=1, found 0")

    def test_uncoloured_detection_is_an_error(self):
        with pytest.raises(ValueError, match="colour"):
            evaluate(COLOR, [det("car", color=None)], H, W)


class TestColorAttr:
    def test_both_colours_right(self):
        dets = [det("cup", color="blue"), det("vase", color="yellow")]
        assert evaluate(COLOR_ATTR, dets, H, W)[0]

    def test_swapped_colours_fail_twice(self):
        dets = [det("cup", color="yellow"), det("vase", color="blue")]
        ok, reason = evaluate(COLOR_ATTR, dets, H, W)
        assert not ok
        assert reason.splitlines() == [
            "expected blue cup>=1, found 0 blue; and 1 yellow",
            "expected yellow vase>=1, found 0 yellow; and 1 blue",
        ]


class TestPosition:
    def test_clearly_left(self):
        dets = [det("chair", box=(300, 100, 400, 200)), det("dog", box=(10, 100, 110, 200))]
        assert evaluate(POSITION, dets, H, W) == (True, "")

    def test_right_instead_of_left(self):
        dets = [det("chair", box=(10, 100, 110, 200)), det("dog", box=(300, 100, 400, 200))]
        ok, reason = evaluate(POSITION, dets, H, W)
        assert not ok and reason == "expected dog left of target, found right of target"

    def test_missing_target(self):
        ok, reason = evaluate(POSITION, [det("dog")], H, W)
        assert not ok
        assert reason.splitlines() == ["expected chair>=1, found 0", "no target for dog to be left of"]

    @pytest.mark.parametrize(("shift", "expected"), [(2.0, False), (4.0, False), (4.01, True), (30.0, True)])
    def test_margin(self, shift, expected):
        # Two 10-px boxes on one row: the offset shrinks by 0.1 * (10 + 10) = 2 px, and "left of" needs the
        # shrunk offset to exceed half the raw offset, i.e. (shift - 2) / shift > 0.5, i.e. shift > 4.
        dets = [det("chair", box=(100 + shift, 100, 110 + shift, 110)), det("dog", box=(100, 100, 110, 110))]
        assert evaluate(POSITION, dets, H, W)[0] is expected

    def test_every_reference_object_must_hold(self):
        meta = {
            "tag": "position",
            "include": [
                {"class": "chair", "count": 2},
                {"class": "dog", "count": 1, "position": ["above", 0]},
            ],
            "prompt": "x",
        }
        chairs = [det("chair", box=(0, 300, 50, 350)), det("chair", box=(200, 300, 250, 350))]
        assert evaluate(meta, [*chairs, det("dog", box=(100, 0, 150, 50))], H, W)[0]
        low_chair = [chairs[0], det("chair", box=(200, 0, 250, 50))]  # level with the dog
        assert not evaluate(meta, [*low_chair, det("dog", box=(100, 0, 150, 50))], H, W)[0]

    def test_forward_reference_is_rejected(self):
        bad = {
            "tag": "position",
            "include": [{"class": "dog", "count": 1, "position": ["above", 1]}],
            "prompt": "x",
        }
        with pytest.raises(ValueError, match="earlier include"):
            evaluate(bad, [], H, W)


class TestRelativePosition:
    def test_overlap_has_no_relation(self):
        assert relative_position((0, 0, 10, 10), (0, 0, 10, 10)) == []

    def test_diagonal_gives_two_relations(self):
        assert relative_position((0, 0, 0, 0), (10, 10, 10, 10)) == ["left of", "above"]

    def test_mostly_horizontal_gives_one(self):
        assert relative_position((0, 0, 0, 0), (10, 5, 10, 5)) == ["left of"]

    def test_below_and_right(self):
        assert relative_position((100, 100, 110, 110), (0, 0, 10, 10)) == ["right of", "below"]


def test_box_outside_image_is_rejected():
    with pytest.raises(ValueError, match="pixel"):
        evaluate(SINGLE, [det("dog", box=(0, 0, 0.5, 0.5)), det("dog", box=(0, 0, 900, 10))], H, W)


def test_compute_iou_uses_inclusive_pixels():
    assert geneval.compute_iou((0, 0, 9, 9), (0, 0, 9, 9)) == 1.0
    assert geneval.compute_iou((0, 0, 9, 9), (5, 0, 14, 9)) == pytest.approx(50 / 150)


def test_result_record_matches_upstream_columns():
    rec = geneval.result_record(
        "out/00000/samples/0000.png", SINGLE, [det("dog", 0.5), det("dog", 0.1)], H, W
    )
    assert list(rec) == ["filename", "tag", "prompt", "correct", "reason", "metadata", "details"]
    assert json.loads(rec["details"]) == {"dog": [[10.0, 10.0, 50.0, 50.0, 0.5]]}
    assert json.loads(rec["metadata"]) == SINGLE


def test_summary_is_mean_of_tag_means():
    rows = [{"tag": "single_object", "correct": True, "metadata": json.dumps(SINGLE)}] * 3
    rows += [
        {"tag": "counting", "correct": c, "metadata": json.dumps(COUNT3)} for c in (True, False, False, False)
    ]
    s = summarize(rows)
    assert list(s.per_tag) == ["single_object", "counting"]
    assert s.per_tag == {"single_object": 1.0, "counting": 0.25}
    assert s.overall == pytest.approx(0.625)  # not the image mean 4/7
    assert s.image_accuracy == pytest.approx(4 / 7)
    assert (s.n_images, s.n_prompts, s.prompt_accuracy) == (7, 2, 1.0)
