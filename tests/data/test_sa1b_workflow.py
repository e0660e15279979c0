"""The real SA-1B rules under Snakemake against fake shards on 127.0.0.1: links file, resume, checksums,
extraction, validation, then semantic and panoptic targets made from the class-agnostic masks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.testing.sa1b import sa1b_from_toyworld, tar_shard

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
TARGETS = ["results/targets/semantic/manifest.parquet", "results/targets/panoptic/manifest.parquet"]


def _snakemake(workdir: Path, cfg: dict, *args: str) -> subprocess.CompletedProcess[str]:
    path = workdir / "config.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(cfg))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")])}
    cmd = [SNAKEMAKE, "--snakefile", str(REPO / "Snakefile"), "--cores", "2", "-d", str(workdir)]
    return subprocess.run(
        [*cmd, *args, "--configfile", str(path)], capture_output=True, text=True, env=env, timeout=600
    )


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> dict[str, bytes]:
    """Three SA-1B tar shards of 8 toy-world images each (64x48), as Meta ships them."""
    base = tmp_path_factory.mktemp("sa1b_src")
    toy = write_toyworld(ToyWorldSpec(n_train=24, n_val=1, width=64, height=48, seed=5), base / "toy")
    return {f.name + ".tar": tar_shard(f) for f in sa1b_from_toyworld(toy, base / "sa1b", per_shard=8)}


def _config(links: Path, **sa1b: object) -> dict:
    cfg = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    cfg["data"] = {
        "source": "sa1b",
        "root": "data/sa1b",
        "download_dir": "downloads",
        "checksums_dir": "checksums",
        "retry": {"retries": 2, "backoff_s": 0.01, "timeout_s": 10},
        "sa1b": {"links_file": str(links), "n_shards": 2, "eval_fraction": 0.2, **sa1b},
    }
    cfg["targets"].update(n_per_task=8, shard_size=4, eval_n=2, tasks={"semantic": {}, "panoptic": {}})
    return cfg


@pytest.mark.slow
def test_sa1b_shards_download_resume_verify_extract_and_make_targets(http_server, shards, tmp_path):
    lines = ["file_name\tcdn_link"]
    for name, data in shards.items():
        # shard 0 drops its connection half-way once: the job resumes it with a Range request
        drop = {"drop_after": len(data) // 2, "drops": 1} if name == "sa_000000.tar" else {}
        lines.append(f"{name}\t{http_server.serve(f'/sa1b/{name}', data, **drop)}?oe=6800ABCD")
    links = tmp_path / "sa1b_links.txt"
    links.write_text("\n".join(lines) + "\n")
    work = tmp_path / "run"

    # a malformed links file stops the run before any job, naming the file, the line and the fix
    bad = tmp_path / "bad_links.txt"
    bad.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2].replace("\t", " ") + "\n")
    plan = _snakemake(work, _config(bad), "-n", *TARGETS)
    said = plan.stdout + plan.stderr
    assert plan.returncode != 0 and "bad_links.txt:3: expected 'file_name<TAB>url'" in said
    assert "data.sa1b.links_file" in said and not (work / "results").exists()

    # a wrong checksum fails that shard cleanly: no final file, no partial file
    wrong = _snakemake(work, _config(links, checksums={"sa_000001.tar": {"sha256": "0" * 64}}), *TARGETS)
    assert wrong.returncode != 0
    log = (work / "results/logs/data/download_sa1b/sa_000001.log").read_text()
    assert "sa_000001.tar from http://127.0.0.1" in log and "expected 0000" in log
    assert not list((work / "downloads" / "sa1b").glob("sa_000001.tar*"))

    # shard 1 was cut off in an earlier run: half of it waits in its .part file
    half = len(shards["sa_000001.tar"]) // 2
    (work / "downloads" / "sa1b" / "sa_000001.tar.part").write_bytes(shards["sa_000001.tar"][:half])
    run = _snakemake(work, _config(links), *TARGETS)
    assert run.returncode == 0, run.stderr[-3000:]
    resumed = {path for path, rng in http_server.requests if rng}
    assert resumed == {"/sa1b/sa_000000.tar", "/sa1b/sa_000001.tar"}
    assert ("/sa1b/sa_000001.tar", f"bytes={half}-") in http_server.requests
    assert all(path != "/sa1b/sa_000002.tar" for path, _ in http_server.requests)  # n_shards: 2
    for name in ("sa_000000.tar", "sa_000001.tar"):
        assert (work / "downloads" / "sa1b" / name).read_bytes() == shards[name]
    recorded = json.loads((work / "checksums" / "sa1b.sha256.json").read_text())["files"]
    assert sorted(recorded) == ["sa_000000.tar", "sa_000001.tar"]
    validated = json.loads((work / "results" / "data" / "validated.json").read_text())
    assert validated["images"] == 16
    assert sum(s["images"] for s in validated["splits"].values()) == 16
    for target in TARGETS:
        manifest = pq.read_table(work / target).to_pandas()
        assert len(manifest) == 8 and set(manifest["source"]) == {"sa1b"}

    again = _snakemake(work, _config(links), "-n", *TARGETS)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_offline_sa1b_root_plans_no_download(shards, tmp_path):
    import io
    import tarfile

    root = tmp_path / "sa1b_copy"
    for name, data in shards.items():
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            tf.extractall(root / name.removesuffix(".tar"), filter="data")
    cfg = _config(tmp_path / "no_links.txt", download=False)
    cfg["data"]["root"] = str(root)
    plan = _snakemake(tmp_path / "run", cfg, "-n", *TARGETS)
    assert plan.returncode == 0, plan.stderr[-3000:]
    assert "download_sa1b" not in plan.stdout and "extract_sa1b" not in plan.stdout
    assert "validate_data" in plan.stdout
