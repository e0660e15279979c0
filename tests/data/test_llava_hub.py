"""LLaVA-OneVision subsets listed, fetched, verified and drawn against a stand-in Hub on 127.0.0.1."""

from __future__ import annotations

import hashlib
import io
import json
import random

import cv2
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hub_standin import StandInHub, serve

from sgt.data.download import ChecksumError, RetryPolicy
from sgt.data.hub import HubError, _hub_call, fetch_subset, read_subset_manifest, verified_files
from sgt.data.llava import build_llava_vqa, draw_rows
from sgt.data.vqa import read_jsonl

REPO = "lmms-lab/LLaVA-OneVision-Data"
C1, C2 = "1" * 40, "2" * 40
CLEVR, CHART, CAMBRIAN = "CLEVR-Math(MathV360K)", "chartqa(cauldron,llava_format)", "cambrian(filtered)"
FAST = RetryPolicy(retries=2, backoff_s=0.001, timeout_s=5.0)


def png(value: int) -> bytes:
    ok, buf = cv2.imencode(".png", np.full((6, 8, 3), value % 256, np.uint8))
    assert ok
    return buf.tobytes()


def shard(first: int, n: int, *, text_only: set[int] = frozenset(), multi: set[int] = frozenset()) -> bytes:
    """LLaVA-OneVision's parquet layout: id, image{bytes, path}, conversations[{from, value}], data_source."""
    rows = []
    for k in range(first, first + n):
        conv = [{"from": "human", "value": f"<image>\nq{k}?"}, {"from": "gpt", "value": f"a{k}"}]
        if k in multi:
            conv += [{"from": "human", "value": f"and q{k}b?"}, {"from": "gpt", "value": f"a{k}b"}]
        image = None if k in text_only else {"bytes": png(k), "path": f"{k}.png"}
        rows.append({"id": f"row-{k}", "image": image, "conversations": conv, "data_source": "test"})
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buf, row_group_size=4)
    return buf.getvalue()


FILES = {
    "README.md": b"# stand-in\n",
    f"{CLEVR}/train-00000-of-00002.parquet": shard(0, 10, text_only={3}, multi={1, 7}),
    f"{CLEVR}/train-00001-of-00002.parquet": shard(10, 10),
    f"{CHART}/train-00000-of-00001.parquet": shard(100, 5),
    f"{CAMBRIAN}/{CAMBRIAN}_processed.json": b"[]",
    f"{CAMBRIAN}/{CAMBRIAN}_images_1.tar.gz": b"tar",
}


@pytest.fixture
def hub(monkeypatch, tmp_path):
    from huggingface_hub import constants

    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))  # ignore a saved login
    stand_in = StandInHub(REPO)
    stand_in.commit(C1, FILES)
    with serve(stand_in) as running:
        monkeypatch.setenv("HF_ENDPOINT", running.base)  # read per call by sgt.data.hub
        yield running


def go_offline(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def fetch(tmp_path, subset, revision="main"):
    out = tmp_path / "downloads" / "llava" / f"{subset}.json"
    return fetch_subset(REPO, revision, subset, out, tmp_path / "checksums" / "llava.json", policy=FAST), out


def test_subsets_resolve_to_their_files_at_the_recorded_commit(hub, tmp_path):
    manifest, out = fetch(tmp_path, CLEVR)
    assert manifest.commit == C1 and manifest.revision == "main"
    assert [f.path for f in manifest.files] == sorted(
        p for p in FILES if p.startswith(CLEVR) and "parquet" in p
    )
    for f in manifest.files:
        data = (out.parent / f.path).read_bytes()
        assert data == FILES[f.path] and f.sha256 == hashlib.sha256(data).hexdigest() and f.size == len(data)
    assert read_subset_manifest(out) == manifest
    # every file came from the commit, never from the moving branch
    assert all(f"/resolve/{C1}/" in p for m, p, _ in hub.requests if "/resolve/" in p)
    record = json.loads((tmp_path / "checksums" / "llava.json").read_text())[REPO]
    assert record["refs"] == {"main": C1}
    assert [r["path"] for r in record["trees"][C1][CLEVR]] == [f.path for f in manifest.files]

    # main moves on: the recorded commit is kept, so every subset comes from one commit
    hub.commit(C2, {p: d + b"x" if p.endswith(".parquet") else d for p, d in FILES.items()})
    chart, _ = fetch(tmp_path, CHART)
    assert (
        chart.commit == C1 and chart.files[0].sha256 == hashlib.sha256(FILES[chart.files[0].path]).hexdigest()
    )
    assert fetch(tmp_path, CHART, revision=C2)[0].commit == C2  # a pinned commit needs no record


def test_a_dropped_download_resumes_and_is_verified(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    # huggingface_hub writes whole 10 MB chunks and resumes after the last one; shrink them to our shards
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1024)
    name = f"{CLEVR}/train-00000-of-00002.parquet"
    hub.drop_after[name] = len(FILES[name]) // 2
    manifest, out = fetch(tmp_path, CLEVR)
    first, resumed = hub.gets(name)  # one GET cut off, one resumed with a Range request
    assert first is None and resumed == f"bytes={len(FILES[name]) // 2 // 1024 * 1024}-"
    assert manifest.files[0].sha256 == hashlib.sha256(FILES[name]).hexdigest()
    assert (out.parent / name).read_bytes() == FILES[name]


def test_corrupt_files_are_fetched_again_or_named(hub, tmp_path):
    name = f"{CLEVR}/train-00001-of-00002.parquet"
    _, out = fetch(tmp_path, CLEVR)
    local = out.parent / name
    local.write_bytes(bytes(255 - b for b in local.read_bytes()))  # same size, wrong bytes
    with pytest.raises(ChecksumError, match=r"train-00001-of-00002.parquet does not match .*delete both"):
        verified_files(out)  # what vqa_train checks before reading
    n_gets = len(hub.gets(name))
    fetch(tmp_path, CLEVR)  # the rerun of download_llava notices and fetches it again
    assert len(hub.gets(name)) == n_gets + 1 and local.read_bytes() == FILES[name]
    verified_files(out)

    hub.corrupt.add(name)  # the server sends wrong bytes: refused, nothing kept
    local.unlink()
    with pytest.raises(ChecksumError, match=r"does not match its listing \(sha256 .*rerun"):
        fetch(tmp_path, CLEVR)
    assert not local.exists()


def test_hub_errors_name_the_thing_and_the_fix(hub, tmp_path, monkeypatch):
    with pytest.raises(HubError, match=r"has no folder 'vision_flan\(filtered\)'.*mixture file"):
        fetch(tmp_path, "vision_flan(filtered)")
    with pytest.raises(HubError, match=r"'cambrian\(filtered\)' holds no parquet files.*replace the subset"):
        fetch(tmp_path, CAMBRIAN)
    with pytest.raises(HubError, match=r"no revision 'v9'.*data.llava.revision"):
        fetch(tmp_path, CLEVR, revision="v9")
    hub.gated = True
    with pytest.raises(HubError, match=r"is gated .*set HF_TOKEN"):
        fetch(tmp_path, CLEVR, revision=C1)
    monkeypatch.setenv("HF_TOKEN", "hf_test")  # sent as a bearer token: the stand-in lets it through
    assert fetch(tmp_path, CLEVR, revision=C1)[0].commit == C1


def test_offline_uses_a_complete_local_copy_and_names_what_is_missing(hub, tmp_path, monkeypatch):
    fetch(tmp_path, CLEVR)
    n_requests = len(hub.requests)
    go_offline(monkeypatch)
    (tmp_path / "downloads" / "llava" / f"{CLEVR}.json").unlink()  # the job runs again, offline
    manifest, _ = fetch(tmp_path, CLEVR)
    assert manifest.commit == C1 and len(hub.requests) == n_requests  # no network at all
    with pytest.raises(HubError, match=r"records no listing of 'chartqa.*HF_HUB_OFFLINE"):
        fetch(tmp_path, CHART)
    with pytest.raises(HubError, match=r"'dev' .*no commit recorded.*HF_HUB_OFFLINE.*40-hex"):
        fetch(tmp_path, CLEVR, revision="dev")
    (tmp_path / "downloads" / "llava" / f"{CLEVR}/train-00001-of-00002.parquet").unlink()
    with pytest.raises(HubError, match=r"train-00001-of-00002.parquet is missing and HF_HUB_OFFLINE is set"):
        fetch(tmp_path, CLEVR)


def test_git_stored_files_are_checked_by_their_blob_id(hub, tmp_path):
    hub.lfs = False
    manifest, _ = fetch(tmp_path, CHART, revision=C1)
    assert manifest.files[0].sha256 == hashlib.sha256(FILES[manifest.files[0].path]).hexdigest()


def test_an_unavailable_hub_is_retried_then_named(hub, tmp_path):
    hub.unavailable = 2  # 503s: huggingface_hub retries them itself
    assert fetch(tmp_path, CHART, revision=C1)[0].commit == C1
    import httpx2

    waits = []

    def down():
        raise httpx2.ConnectError("connection refused")

    with pytest.raises(HubError, match=r"listing failed 3 times \(connection refused\).*check the network"):
        _hub_call(down, repo=REPO, what="listing", policy=FAST, sleep=waits.append)
    assert len(waits) == 2 and waits[1] == 2 * waits[0]


def test_the_draw_is_exact_seeded_and_independent_of_shard_order(hub, tmp_path, caplog):
    manifests = {s: fetch(tmp_path, s)[1] for s in (CLEVR, CHART)}
    counts = {CLEVR: 12, CHART: 9}  # CHART has 5 rows: all of them, logged
    a = build_llava_vqa(manifests, counts, 0, tmp_path / "a.jsonl", tmp_path / "img")
    assert "chartqa(cauldron,llava_format) has 5 rows, fewer than the 9 asked for" in caplog.text
    picks = draw_rows(20, 12, 0, CLEVR)
    assert len(set(picks)) == 12 and a["rows drawn"] == 12 + 5
    assert a["records"] + a["text-only rows skipped"] == 12 + 5 and a["text-only rows skipped"] == int(
        3 in picks
    )
    rows = read_jsonl(tmp_path / "a.jsonl")
    assert [r.question for r in rows if r.category == CLEVR] == [f"q{k}?" for k in picks if k != 3]
    multi = [r for r in rows if r.turns]
    assert {r.question for r in multi} == {f"q{k}?" for k in (1, 7) if k in picks}
    for r in multi:
        assert r.turns[1] == (f"and {r.question[:-1]}b?", f"{r.answer}b")

    # The same seed gives the same bytes; the draw of a subset ignores the other subsets and the order in
    # which its shards are listed.
    shuffled = tmp_path / "shuffled" / f"{CLEVR}.json"
    data = json.loads(manifests[CLEVR].read_text())
    random.Random(1).shuffle(data["files"])
    shuffled.parent.mkdir()
    shuffled.write_text(json.dumps(data))
    (shuffled.parent / CLEVR).symlink_to(manifests[CLEVR].parent / CLEVR)
    b = build_llava_vqa(
        {CLEVR: shuffled, CHART: manifests[CHART]}, counts, 0, tmp_path / "b.jsonl", tmp_path / "img"
    )
    assert a == b and (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    build_llava_vqa(manifests, {CLEVR: 12, CHART: 2}, 0, tmp_path / "c.jsonl", tmp_path / "img")
    clevr = [line for line in (tmp_path / "a.jsonl").read_text().splitlines() if CLEVR in line]
    assert clevr == [line for line in (tmp_path / "c.jsonl").read_text().splitlines() if CLEVR in line]
    build_llava_vqa(manifests, counts, 1, tmp_path / "d.jsonl", tmp_path / "img")
    assert (tmp_path / "d.jsonl").read_bytes() != (tmp_path / "a.jsonl").read_bytes()


def test_subsets_from_different_commits_are_refused(hub, tmp_path):
    manifests = {CLEVR: fetch(tmp_path, CLEVR, revision=C1)[1]}
    hub.commit(C2, FILES)
    other = tmp_path / "other" / "llava" / f"{CHART}.json"
    fetch_subset(REPO, C2, CHART, other, tmp_path / "checksums" / "llava.json", policy=FAST)
    with pytest.raises(ValueError, match="different commits"):
        build_llava_vqa(
            {**manifests, CHART: other}, {CLEVR: 1, CHART: 1}, 0, tmp_path / "x.jsonl", tmp_path / "i"
        )


def test_the_rules_fetch_each_subset_and_draw_the_mixture(hub, tmp_path):
    """download_llava (one job per subset, names with parentheses and commas) then vqa_train, for real."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import yaml

    repo_root = Path(__file__).resolve().parents[2]
    cfg = yaml.safe_load((repo_root / "config" / "test.yaml").read_text())
    cfg["data"].update(download_dir="downloads", checksums_dir="checksums")
    cfg["data"]["llava"] = {"revision": "main", "subsets": {CLEVR: 12, CHART: 3}}
    cfg["vqa"]["source"] = "llava_onevision"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    env = {k: v for k, v in os.environ.items() if k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")}
    env.update(HF_HOME=str(tmp_path / "hf_home"), PYTHONPATH=str(repo_root / "src"))
    cmd = [str(Path(sys.executable).parent / "snakemake"), "--snakefile", str(repo_root / "Snakefile")]
    cmd += [
        "--cores",
        "2",
        "-d",
        str(tmp_path),
        "results/vqa/train.jsonl",
        "--configfile",
        str(tmp_path / "config.yaml"),
    ]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rows = read_jsonl(tmp_path / "results/vqa/train.jsonl")
    assert sum(r.category == CHART for r in rows) == 3 and sum(r.category == CLEVR for r in rows) >= 11
    for subset in (CLEVR, CHART):
        assert read_subset_manifest(tmp_path / "downloads" / "llava" / f"{subset}.json").commit == C1
    assert json.loads((tmp_path / "checksums" / "llava_onevision.json").read_text())[REPO]["refs"] == {
        "main": C1
    }
    again = subprocess.run([*cmd, "-n"], capture_output=True, text=True, env=env)
    assert "Nothing to be done" in again.stdout + again.stderr
