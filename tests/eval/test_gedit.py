from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from PIL import Image

from sgt.eval.gedit.viescore import (
    GROUPS,
    VIEPrompts,
    VIEScoreClient,
    load_viescore_prompts,
    parse_scores,
    summarize_gedit,
)

PROMPTS = VIEPrompts(sc="SC rules. Instruction: <instruction>", pq="PQ rules.")


class FakeJudge(BaseHTTPRequestHandler):
    requests: list[dict] = []

    def do_POST(self):  # noqa: N802 (http.server API)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeJudge.requests.append(body)
        content = body["messages"][0]["content"]
        text = content[-1]["text"]
        n_images = sum(c["type"] == "image_url" for c in content)
        if text.startswith("SC"):
            reply = 'Sure. ||V^=^V||{"score": [8, 6], "reasoning": "ok"}||V^=^V||'
        elif "garbage" in text:
            reply = "no scores here"
        else:
            reply = '{"score": [9, 4], "reasoning": "x"}' if n_images == 1 else "wrong"
        data = json.dumps({"choices": [{"message": {"role": "assistant", "content": reply}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def judge_url():
    server = HTTPServer(("127.0.0.1", 0), FakeJudge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeJudge.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_client_scores_min_and_geometric_mean(judge_url):
    client = VIEScoreClient(judge_url, "qwen25vl", PROMPTS, api_key="k")
    src = Image.new("RGB", (32, 24), "red")
    edited = Image.new("RGB", (64, 64), "blue")
    s = client.score(src, edited, "make it blue")
    assert (s.sc, s.pq) == (6.0, 4.0)
    assert s.overall == pytest.approx(math.sqrt(24))
    sc_req, pq_req = FakeJudge.requests
    assert sc_req["model"] == "qwen25vl"
    assert sc_req["messages"][0]["content"][-1]["text"] == "SC rules. Instruction: make it blue"
    assert sum(c["type"] == "image_url" for c in sc_req["messages"][0]["content"]) == 2
    assert sum(c["type"] == "image_url" for c in pq_req["messages"][0]["content"]) == 1


def test_unparseable_reply_is_nan_after_retries(judge_url):
    client = VIEScoreClient(judge_url, "m", VIEPrompts(sc="SC <instruction>", pq="garbage"), max_tries=2)
    s = client.score(Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8)), "x")
    assert s.sc == 6.0 and math.isnan(s.pq) and math.isnan(s.overall)
    assert len(FakeJudge.requests) == 3  # one SC call, two PQ tries


def test_unreachable_endpoint_names_the_url():
    client = VIEScoreClient("http://127.0.0.1:9/v1", "m", PROMPTS, timeout=2)
    with pytest.raises(ConnectionError, match="127.0.0.1:9"):
        client.score(Image.new("RGB", (8, 8)), Image.new("RGB", (8, 8)), "x")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('||V^=^V||{"score": [3, 7]}||V^=^V||', [3.0, 7.0]),
        ('Here: {"score": [5], "reasoning": "r"}', [5.0]),
        ("[6, 2]", [6.0, 2.0]),
        ("nothing", None),
        ('{"reasoning": "no score"}', None),
    ],
)
def test_parse_scores(text, expected):
    assert parse_scores(text) == expected


def test_summary_is_mean_over_groups():
    rows = [{"group": g, "instruction_language": "en", "sc": 4.0, "pq": 9.0} for g in GROUPS]
    rows += [{"group": "color_alter", "instruction_language": "en", "sc": 9.0, "pq": 4.0}] * 3
    rows += [{"group": "color_alter", "instruction_language": "cn", "sc": 0.0, "pq": 0.0}]
    s = summarize_gedit(rows)
    assert s["color_alter"]["sc"] == pytest.approx(7.75)  # (4 + 3 * 9) / 4, Chinese row ignored
    assert s["color_alter"]["overall"] == pytest.approx(6.0)
    assert s["average"]["sc"] == pytest.approx((10 * 4 + 7.75) / 11)
    with pytest.raises(ValueError, match="tone_transfer"):
        summarize_gedit([r for r in rows if r["group"] != "tone_transfer"])


def test_load_prompts_joins_like_viescore(tmp_path):
    p = tmp_path / "vie_prompts.py"
    p.write_text(
        "_context_no_delimit = 'CTX'\n_prompts_0shot_two_image_edit_rule = 'EDIT'\n"
        "_prompts_0shot_tie_rule_SC = 'SC <instruction>'\n_prompts_0shot_rule_PQ = 'PQ'\n"
    )
    assert load_viescore_prompts(p) == VIEPrompts(sc="CTX\nEDIT\nSC <instruction>", pq="CTX\nPQ")
