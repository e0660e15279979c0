"""The plumbing both cluster extractors share: request in, Fig. 8a items, result out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from sgt.analysis.cluster.extract_io import question_items, read_request, write_result


def test_request_items_and_result_round_trip(tmp_path: Path) -> None:
    (tmp_path / "req.json").write_text(json.dumps({"questions": [{"question": "q", "answer": "a"}]}))
    args, req = read_request(
        ["--request", str(tmp_path / "req.json"), "--out", str(tmp_path / "o.json")], "x"
    )
    arrays = {"question_image_0": np.ones((2, 2, 3))}
    (item,) = question_items(arrays, req["questions"])
    assert (item["question"], item["answer"], item["image"].sum()) == ("q", "a", 12.0)
    write_result(args.out, {"load": {"device": "cpu"}})
    got = json.loads(Path(args.out).read_text())
    assert got["load"] == {"device": "cpu"} and "sgt.analysis.cluster.extract_io" in got["sgt_modules"]


def test_it_imports_nothing_of_our_data_stack() -> None:
    code = "import sys, sgt.analysis.cluster.extract_io; print(' '.join(sorted(sys.modules)))"
    mods = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "sgt.analysis.cluster.extract_io" in mods
    assert not [m for m in mods if m.startswith(("sgt.data", "sgt.models", "cv2", "pycocotools", "torch"))]
