from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest
from PIL import Image

from sgt.eval.dpg.scoring import (
    image_grid,
    read_dpg_prompts,
    read_dpg_questions,
    score_dpg,
    vqa_from_config,
    write_dpg_outputs,
)

HEADER = (
    "item_id,text,keywords,proposition_id,dependency,category_broad,category_detailed,tuple,"
    "question_natural_language\n"
)
ROWS = [
    "skipped,t,k,1,0,entity,whole,entity - whole (x),Is there an x?",  # upstream drops the first data row
    "item1,t,k,1,0,entity,whole,entity - whole (cat),Is there a cat?",
    'item1,t,k,2,1,attribute,color,"attribute - color (cat, red)",Is the cat red?',
    "item1,t,k,3,0,entity,whole,entity - whole (dog),Is there a dog?",
    'item1,t,k,4,3,relation,spatial,"relation - spatial (dog, cat, left)",Is the dog left of the cat?',
]


class FakeVQA(BaseHTTPRequestHandler):
    """Yes to the cat questions, "Yes, it is." to the relation, "No." to the dog's existence."""

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        content = body["messages"][0]["content"]
        text = content[-1]["text"]
        if "cat" in text and "dog" not in text:
            reply = "yes"
        elif "dog left" in text:
            reply = "Yes, it is."
        else:
            reply = "No."
        data = json.dumps({"choices": [{"message": {"content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge():
    server = HTTPServer(("127.0.0.1", 0), FakeVQA)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield {"model": "fake-vqa", "base_url": f"http://127.0.0.1:{server.server_address[1]}/v1"}
    server.shutdown()
    server.server_close()


def test_runner_layout_and_score_against_fake_judge(tmp_path, judge):
    (tmp_path / "dpg_bench.csv").write_text(HEADER + "\n".join(ROWS) + "\n")
    prompts_dir = tmp_path / "prompts"
    prompts_dir.mkdir()
    (prompts_dir / "item1.txt").write_text("a red cat and a dog\n")
    items = read_dpg_questions(tmp_path / "dpg_bench.csv")
    assert list(items) == ["item1"] and items["item1"].dependencies == {1: [0], 2: [1], 3: [0], 4: [3]}
    prompts = read_dpg_prompts(prompts_dir)
    out = write_dpg_outputs(
        prompts, lambda p, s: np.full((8, 8, 3), 40 * s, np.uint8), tmp_path / "img", [0, 1, 2, 3]
    )
    grid = np.asarray(Image.open(out / "item1.png"))
    assert grid.shape == (16, 16, 3) and grid[0, 8, 0] == 40 and grid[8, 0, 0] == 80 and grid[8, 8, 0] == 120
    scores = score_dpg(out, items, vqa_from_config(judge), resolution=8, pic_num=4)
    # cat yes, red yes, dog no, "dog left" yes but zeroed by its parent: 2/4 per sample
    assert scores["overall"] == 50.0
    # categories use answers before zeroing: relation counts as answered yes
    assert (
        scores["L1/relation"] == 100.0
        and scores["L1/entity"] == 50.0
        and scores["L2/attribute - color"] == 100.0
    )


def test_no_judge_says_so():
    assert vqa_from_config(None) is None and vqa_from_config({"base_url": None}) is None


def test_errors_name_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="eval.dpg.questions"):
        read_dpg_questions(tmp_path / "none.csv")
    with pytest.raises(FileNotFoundError, match="eval.dpg.prompts"):
        read_dpg_prompts(tmp_path)
    with pytest.raises(ValueError, match="square"):
        image_grid([np.zeros((4, 6, 3), np.uint8)] * 2)
