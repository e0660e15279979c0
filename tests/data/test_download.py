"""The real downloader against a local server: resume, retries, checksums, errors, offline mirrors."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from sgt.data.download import ChecksumError, DownloadError, RetryPolicy, download, manifest_entry
from sgt.data.sources import Source

FAST = RetryPolicy(retries=3, backoff_s=0.001, max_backoff_s=0.01, timeout_s=2.0)


def _payload(n: int = 300_000, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_dropped_connection_resumes_with_range_and_checksum_matches(http_server, tmp_path):
    data = _payload()
    url = http_server.serve("/zips/train2017.zip", data, drop_after=100_000, drops=2)
    src = Source("train2017.zip", url, size=len(data), md5=hashlib.md5(data).hexdigest())
    waits: list[float] = []
    out = download(src, tmp_path / "train2017.zip", policy=FAST, sleep=waits.append)
    assert out.read_bytes() == data
    ranges = [r for p, r in http_server.requests if p == "/zips/train2017.zip"]
    assert ranges == [None, "bytes=100000-", "bytes=200000-"]
    assert not (tmp_path / "train2017.zip.part").exists()
    assert len(waits) == 2


def test_interrupted_run_leaves_part_and_next_run_resumes(http_server, tmp_path):
    data = _payload(seed=1)
    url = http_server.serve("/a.bin", data, drop_after=50_000, drops=10)
    src = Source("a.bin", url, sha256=hashlib.sha256(data).hexdigest())
    http_server.behaviour["/a.bin"].drop_after = 0  # no progress at all: give up
    with pytest.raises(DownloadError, match="gave up after 4 attempts") as err:
        download(src, tmp_path / "a.bin", policy=FAST, sleep=lambda s: None)
    assert url in str(err.value)
    assert not (tmp_path / "a.bin").exists()
    # A previous run left half the file behind: the next run asks only for the rest.
    (tmp_path / "a.bin.part").write_bytes(data[:123_456])
    http_server.behaviour["/a.bin"].drops = 0
    download(src, tmp_path / "a.bin", policy=FAST)
    assert (tmp_path / "a.bin").read_bytes() == data
    assert http_server.requests[-1] == ("/a.bin", "bytes=123456-")


def test_wrong_checksum_fails_clearly_and_leaves_no_file(http_server, tmp_path):
    data = _payload(seed=2)
    url = http_server.serve("/val2017.zip", data, corrupt=True)
    src = Source("val2017.zip", url, size=len(data), md5=hashlib.md5(data).hexdigest())
    with pytest.raises(ChecksumError, match="md5") as err:
        download(src, tmp_path / "val2017.zip", policy=FAST)
    assert url in str(err.value)
    assert not (tmp_path / "val2017.zip").exists()
    assert not (tmp_path / "val2017.zip.part").exists()  # resuming would keep the bad bytes


def test_404_names_the_url_and_is_not_retried(http_server, tmp_path):
    url = http_server.base + "/missing.zip"
    with pytest.raises(DownloadError, match="HTTP 404") as err:
        download(Source("missing.zip", url), tmp_path / "missing.zip", policy=FAST, hint="data.coco.base_url")
    assert url in str(err.value) and "data.coco.base_url" in str(err.value)
    assert len(http_server.requests) == 1
    assert not any(tmp_path.iterdir())


def test_403_suggests_an_expired_link(http_server, tmp_path):
    url = http_server.serve("/sa_000000.tar", b"x", status=403)
    with pytest.raises(DownloadError, match="expired") as err:
        download(Source("sa_000000.tar", url), tmp_path / "sa_000000.tar", policy=FAST)
    assert url in str(err.value)


def test_server_errors_and_timeouts_are_retried(http_server, tmp_path):
    data = _payload(10_000, seed=3)
    url = http_server.serve("/slow.bin", data, stall_s=0.5, stalls=1)
    policy = RetryPolicy(retries=3, backoff_s=0.001, timeout_s=0.2)
    waits: list[float] = []
    download(Source("slow.bin", url), tmp_path / "slow.bin", policy=policy, sleep=waits.append)
    assert (tmp_path / "slow.bin").read_bytes() == data and len(waits) == 1

    http_server.serve("/down.bin", data, status=503)
    with pytest.raises(DownloadError, match="503") as err:
        download(Source("down.bin", http_server.base + "/down.bin"), tmp_path / "d.bin", policy=FAST)
    assert "/down.bin" in str(err.value)
    assert sum(p == "/down.bin" for p, _ in http_server.requests) == FAST.retries + 1


def test_server_ignoring_range_restarts_cleanly(http_server, tmp_path):
    data = _payload(seed=4)
    url = http_server.serve("/norange.bin", data, ignore_range=True)
    (tmp_path / "n.bin.part").write_bytes(b"garbage that is not the start of the file")
    download(Source("n.bin", url, sha256=hashlib.sha256(data).hexdigest()), tmp_path / "n.bin", policy=FAST)
    assert (tmp_path / "n.bin").read_bytes() == data


def test_complete_part_file_is_accepted_on_416(http_server, tmp_path):
    data = _payload(5000, seed=5)
    url = http_server.serve("/done.bin", data)
    (tmp_path / "done.bin.part").write_bytes(data)
    download(Source("done.bin", url), tmp_path / "done.bin", policy=FAST)
    assert (tmp_path / "done.bin").read_bytes() == data


def test_manifest_records_first_download_and_checks_later_ones(http_server, tmp_path):
    data = _payload(seed=6)
    url = http_server.serve("/ann.zip", data)
    manifest = tmp_path / "sha256.json"
    download(Source("ann.zip", url), tmp_path / "a" / "ann.zip", manifest=manifest, policy=FAST)
    entry = manifest_entry(manifest, "ann.zip")
    assert entry == {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "url": url}
    # An existing file is accepted on size; a recheck re-hashes it against the manifest.
    download(Source("ann.zip", url), tmp_path / "a" / "ann.zip", manifest=manifest, recheck=True)
    (tmp_path / "a" / "ann.zip").write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(ChecksumError, match="delete it and rerun"):
        download(Source("ann.zip", url), tmp_path / "a" / "ann.zip", manifest=manifest, recheck=True)
    # Upstream now serves different bytes: a fresh download no longer matches the recorded sha256.
    http_server.behaviour["/ann.zip"].corrupt = True
    with pytest.raises(ChecksumError, match="manifest"):
        download(Source("ann.zip", url), tmp_path / "b" / "ann.zip", manifest=manifest, policy=FAST)
    assert not (tmp_path / "b" / "ann.zip").exists()
    assert json.loads(manifest.read_text())["files"]["ann.zip"] == entry


def test_file_urls_and_local_paths_work_offline(tmp_path):
    data = _payload(seed=7)
    mirror = tmp_path / "mirror" / "x.zip"
    mirror.parent.mkdir()
    mirror.write_bytes(data)
    download(Source("x.zip", mirror.as_uri(), size=len(data)), tmp_path / "one" / "x.zip")
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "x.zip.part").write_bytes(data[:1000])
    download(Source("x.zip", str(mirror), md5=hashlib.md5(data).hexdigest()), tmp_path / "two" / "x.zip")
    assert (tmp_path / "one" / "x.zip").read_bytes() == data == (tmp_path / "two" / "x.zip").read_bytes()
    with pytest.raises(DownloadError, match="no such local file"):
        download(Source("y.zip", (tmp_path / "nope.zip").as_uri()), tmp_path / "y.zip")


def test_wrong_size_is_caught_even_without_a_digest(http_server, tmp_path):
    url = http_server.serve("/short.bin", b"abc")
    with pytest.raises(ChecksumError, match="size 3 bytes, expected 4"):
        download(Source("short.bin", url, size=4), tmp_path / "short.bin", policy=FAST)
    assert not any(tmp_path.iterdir())


# ------------------------------------------------------------------------------------- issue #21 findings


@pytest.mark.parametrize(
    "head, probes",
    [("full", ["HEAD /nolen.bin"]), ("none", ["HEAD /nolen.bin", "bytes=0-0"])],
    ids=["size-from-HEAD", "size-from-Content-Range"],
)
def test_early_close_without_content_length_is_resumed_not_accepted(http_server, tmp_path, head, probes):
    """Finding 4: no Content-Length, an early close and no checksum used to pass as a complete download."""
    data = _payload(seed=8)
    url = http_server.serve("/nolen.bin", data, no_length=True, drop_after=100_000, drops=1, head=head)
    manifest = tmp_path / "sha256.json"
    waits: list[float] = []
    out = download(
        Source("nolen.bin", url), tmp_path / "nolen.bin", manifest=manifest, policy=FAST, sleep=waits.append
    )
    assert out.read_bytes() == data
    assert manifest_entry(manifest, "nolen.bin")["sha256"] == hashlib.sha256(data).hexdigest()
    gets = [r for p, r in http_server.requests if p == "/nolen.bin" and r != "bytes=0-0"]
    assert gets == [None, "bytes=100000-"] and len(waits) == 1  # resumed where the close cut it
    asked = [
        p if p.startswith("HEAD") else r
        for p, r in http_server.requests
        if p.startswith("HEAD") or r == "bytes=0-0"
    ]
    assert asked == probes  # the size came from HEAD, else from a one-byte Range request
    assert not (tmp_path / "nolen.bin.unverified.json").exists()


def test_download_of_unknown_length_is_used_but_never_recorded_as_reference(http_server, tmp_path, caplog):
    """Finding 4: when neither the server nor the config states a size or checksum, the sha256 of what arrived
    is not written to the manifest (it could be a truncated copy that every later check would then trust)."""
    data = _payload(seed=9)
    url = http_server.serve("/blind.tar", data, no_length=True, head="bare", ignore_range=True)
    manifest = tmp_path / "sha256.json"
    dest = tmp_path / "dl" / "blind.tar"
    with caplog.at_level("WARNING", logger="sgt.data.download"):
        download(Source("blind.tar", url), dest, manifest=manifest, policy=FAST, hint="data.sa1b.checksums")
    assert dest.read_bytes() == data
    assert manifest_entry(manifest, "blind.tar") is None
    assert (
        "could not be verified" in caplog.text and url in caplog.text and "data.sa1b.checksums" in caplog.text
    )
    marker = json.loads((tmp_path / "dl" / "blind.tar.unverified.json").read_text())
    assert marker["sha256"] == hashlib.sha256(data).hexdigest() and marker["url"] == url
    # A later run finds the file in place: still not recorded, even when asked to re-check it.
    download(Source("blind.tar", url), dest, manifest=manifest, policy=FAST, recheck=True)
    assert manifest_entry(manifest, "blind.tar") is None
    # Once a size or checksum is known (config), the file is checked against it and then recorded.
    download(Source("blind.tar", url, sha256=hashlib.sha256(data).hexdigest()), dest, manifest=manifest)
    assert manifest_entry(manifest, "blind.tar")["size"] == len(data)
    assert not (tmp_path / "dl" / "blind.tar.unverified.json").exists()


def test_stall_mid_body_keeps_the_bytes_received(http_server, tmp_path):
    """Finding 8: a read timeout mid-transfer used to throw away the block being read (up to 1 MiB)."""
    data = _payload(seed=10)
    url = http_server.serve("/stall.bin", data, stall_after=100_000, stall_s=1.5, stalls=1)
    policy = RetryPolicy(retries=2, backoff_s=0.001, timeout_s=0.3)
    download(
        Source("stall.bin", url, size=len(data)), tmp_path / "stall.bin", policy=policy, sleep=lambda s: None
    )
    assert (tmp_path / "stall.bin").read_bytes() == data
    assert [r for p, r in http_server.requests if p == "/stall.bin"] == [None, "bytes=100000-"]


def _worst_case_s(p: RetryPolicy) -> float:
    """Seconds before giving up on a server that never answers: every attempt times out, then backs off."""
    return (p.retries + 1) * p.timeout_s + sum(
        min(p.max_backoff_s, p.backoff_s * 2**k) for k in range(p.retries)
    )


def test_default_retry_policy_gives_up_within_two_minutes_naming_the_keys(http_server, tmp_path):
    """Finding 8: with the defaults, a server that never sent headers held a download for about 15 minutes."""
    import yaml

    from tests.conftest import REPO

    schema = yaml.safe_load((REPO / "workflow" / "schemas" / "config.schema.yaml").read_text())
    retry = schema["properties"]["data"]["properties"]["retry"]["properties"]
    defaults = RetryPolicy(**{k: v["default"] for k, v in retry.items()})
    assert defaults == RetryPolicy()  # what the workflow runs with is what the code documents
    assert _worst_case_s(RetryPolicy()) <= 120
    # The same arithmetic holds for a real server that accepts the connection but never answers.
    url = http_server.serve("/mute.bin", b"x" * 10, stall_s=3.0, stalls=100)
    policy = RetryPolicy(retries=2, backoff_s=0.05, max_backoff_s=0.08, timeout_s=0.2)
    waits: list[float] = []
    with pytest.raises(
        DownloadError, match=r"timed out.*data\.retry\.timeout_s.*data\.retry\.retries"
    ) as err:
        download(Source("mute.bin", url), tmp_path / "mute.bin", policy=policy, sleep=waits.append)
    assert url in str(err.value)
    assert len(waits) == policy.retries and sum(waits) + 3 * policy.timeout_s == pytest.approx(
        _worst_case_s(policy)
    )
