"""VLMEvalKit's TSVs fetched ahead of the GPU jobs: URLs and md5s read statically from a stand-in checkout
shaped like the real dataset modules, downloads against a local server, and (when
SGT_VLMEVALKIT_CHECKOUT names one) the real checkout."""

from __future__ import annotations

import hashlib
import json
import os
import re
import runpy
import subprocess
from pathlib import Path
from textwrap import dedent

import pytest

from sgt.data.download import ChecksumError, DownloadError, RetryPolicy
from sgt.eval.vlmeval.lmudata import (
    DEFAULT_DATASETS,
    LMUDataError,
    fetch_lmudata,
    link_lmudata,
    read_datasets,
)
from tests.conftest import REPO
from tests.data import conftest as data_fixtures

http_server = data_fixtures.http_server  # the download tests' local server (Range, drops, corruption)

FAST = RetryPolicy(retries=2, backoff_s=0.001, max_backoff_s=0.01, timeout_s=2.0)

# dataset -> path on the server; the stand-in source builds these URLs in the ways the real modules do
PATHS = {
    "MMStar": "/utils/VLMEval/MMStar.tsv",
    "MMVP": "/utils/VLMEval/MMVP.tsv",
    "MMMB_en": "/mmmb/mmmb_en.tsv",
    "MMMU_DEV_VAL": "/utils/VLMEval/MMMU_DEV_VAL.tsv",
    "POPE": "/utils/VLMEval/POPE.tsv",
    "VSR-zeroshot": "/datasets/ignoreandfly/vsr_zeroshot_tsv/resolve/main/vsr_zeroshot_dataset_yn_strict.tsv",
    "OCRBench": "/utils/VLMEval/OCRBench.tsv",
    "OCRBench_MINI": "/utils/TEST/OCRBench_MINI.tsv",
    "OCRBench_Late": "/utils/VLMEval/OCRBench_Late.tsv",
    "DocVQA_VAL": "/utils/VLMEval/DocVQA_VAL.tsv",
    "ExtraBench": "/extra/ExtraBench.tsv",
}


def _tsv(name: str, n: int = 40_000) -> bytes:
    head = f"index\tquestion\timage\n0\tWhat is in {name}?\t".encode()
    return head + hashlib.sha256(name.encode()).hexdigest().encode() * (n // 64)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def write_standin(root: Path, host: str, md5: dict[str, str]) -> Path:
    """vlmeval/dataset/*.py with the forms the pinned VLMEvalKit uses (see the docstring of
    sgt.eval.vlmeval.lmudata)."""
    files = {
        "vlmeval/dataset/image_base.py": """
            import os
            from vlmeval.smp import LMUDataRoot


            class ImageBaseDataset:
                MODALITY = 'IMAGE'
                DATASET_URL = {}
                DATASET_MD5 = {}

                def prepare_tsv(self, url, file_md5=None):
                    return url

                def load_data(self, dataset):
                    return self.prepare_tsv(self.DATASET_URL[dataset], self.DATASET_MD5.get(dataset))
            """,
        "vlmeval/dataset/urls.py": f'''
            HOST = "{host}"
            VLMEVAL = HOST + "/utils/VLMEval"
            ''',
        "vlmeval/dataset/extra_urls.py": f"""
            from .urls import HOST

            EXTRA_URLS = {{'ExtraBench': f"{{HOST}}/extra/ExtraBench.tsv"}}
            EXTRA_MD5 = {{'ExtraBench': '{md5["ExtraBench"]}'}}
            """,
        # module-level dicts merged with .update() in the class body; implicit string concatenation;
        # a subclass with its own dicts; one inheriting them but reading local files; loops; empty URLs
        "vlmeval/dataset/image_mcq.py": f'''
            import pandas as pd
            from .image_base import ImageBaseDataset
            from .urls import HOST, VLMEVAL

            MMMB_URLS = {{
                'MMMB_en': f'{{HOST}}/mmmb/mmmb_en.tsv',
            }}
            MMMB_MD5 = {{'MMMB_en': '{md5["MMMB_en"]}'}}


            class ImageMCQDataset(ImageBaseDataset):

                TYPE = 'MCQ'

                DATASET_URL = {{
                    'MMStar': f'{{VLMEVAL}}/MMStar.tsv',
                    "MMVP": (
                        HOST + "/utils/"
                        "VLMEval/MMVP.tsv"),
                }}

                DATASET_MD5 = {{
                    'MMStar': '{md5["MMStar"]}',
                    "MMVP": "{md5["MMVP"]}",
                }}

                DATASET_URL.update(MMMB_URLS)
                DATASET_MD5.update(MMMB_MD5)

                def build_prompt(self, line):
                    return line


            class MMMUDataset(ImageMCQDataset):
                DATASET_URL = {{'MMMU_DEV_VAL': VLMEVAL + '/MMMU_DEV_VAL.tsv'}}
                DATASET_MD5 = {{'MMMU_DEV_VAL': '{md5["MMMU_DEV_VAL"]}'}}


            class CustomMCQDataset(ImageMCQDataset):
                def load_data(self, dataset):
                    return pd.read_csv(dataset + '.tsv', sep='\\t')


            class LoopBench(ImageMCQDataset):
                VARIANTS = ['LoopBench', 'LoopBench_CoT']
                DATASET_URL = {{}}
                DATASET_MD5 = {{}}
                for name in VARIANTS:
                    DATASET_URL[name] = VLMEVAL + '/LoopBench.tsv'


            class HubOnly(ImageMCQDataset):
                DATASET_URL = {{'HubOnly': ''}}
            ''',
        "vlmeval/dataset/image_yorn.py": f"""
            from .image_base import ImageBaseDataset
            from .urls import HOST


            class ImageYORNDataset(ImageBaseDataset):
                DATASET_URL = {{
                    'POPE': HOST + '/utils/VLMEval/POPE.tsv',
                    'VSR-zeroshot': (
                        f"{{HOST}}/datasets/ignoreandfly/"
                        "vsr_zeroshot_tsv/resolve/main/vsr_zeroshot_dataset_yn_strict.tsv"), }}

                DATASET_MD5 = {{
                    'POPE': '{md5["POPE"]}',
                    'VSR-zeroshot': '{md5["VSR-zeroshot"]}',
                }}
            """,
        # key and value on separate lines; no md5 for one entry; an entry added after the class;
        # dicts built with dict(**...) and {{**...}} from another module; a comprehension
        "vlmeval/dataset/image_vqa.py": f"""
            from .extra_urls import EXTRA_MD5, EXTRA_URLS
            from .image_base import ImageBaseDataset
            from .urls import VLMEVAL


            class OCRBench(ImageBaseDataset):
                TYPE = 'VQA'
                DATASET_URL = {{
                    'OCRBench':
                    VLMEVAL + '/OCRBench.tsv',
                    # For internal test only
                    'OCRBench_MINI':
                    '{host}/utils/TEST/OCRBench_MINI.tsv'
                }}
                DATASET_MD5 = {{'OCRBench': '{md5["OCRBench"]}'}}


            OCRBench.DATASET_URL['OCRBench_Late'] = VLMEVAL + '/OCRBench_Late.tsv'
            OCRBench.DATASET_MD5.update({{'OCRBench_Late': '{md5["OCRBench_Late"]}'}})


            class ImageVQADataset(ImageBaseDataset):
                DATASET_URL = dict(EXTRA_URLS, DocVQA_VAL=VLMEVAL + '/DocVQA_VAL.tsv')
                DATASET_MD5 = {{**EXTRA_MD5, 'DocVQA_VAL': '{md5["DocVQA_VAL"]}'}}


            class Comprehended(ImageBaseDataset):
                DATASET_URL = {{k: VLMEVAL + f'/{{k}}.tsv' for k in ['CompBench']}}
            """,
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dedent(text).lstrip("\n"))
    return root


@pytest.fixture
def standin(http_server, tmp_path):
    """(checkout, payloads): every dataset's TSV served, its md5 written into the stand-in source."""
    payloads = {name: _tsv(name) for name in PATHS}
    for name, path in PATHS.items():
        http_server.serve(path, payloads[name])
    md5 = {name: _md5(data) for name, data in payloads.items()}
    return write_standin(tmp_path / "vlmevalkit", http_server.base, md5), payloads


def _line(checkout: Path, at: str) -> str:
    rel, line = at.rsplit(":", 1)
    return (checkout / rel).read_text().splitlines()[int(line) - 1]


def test_urls_and_md5s_are_read_through_the_forms_the_real_modules_use(standin, http_server):
    checkout, payloads = standin
    names = [n for n in PATHS if n != "OCRBench_MINI"]
    files = read_datasets(checkout, names)
    for name in names:
        f = files[name]
        assert f.url == http_server.base + PATHS[name], name
        assert f.md5 == _md5(payloads[name]), name
        assert f.filename == f"{name}.tsv"
        assert name in _line(checkout, f.url_at), (name, f.url_at)
        assert f.md5 in _line(checkout, f.md5_at), (name, f.md5_at)
    assert files["MMMB_en"].cls == "ImageMCQDataset"  # merged into the class with .update()
    assert files["MMMB_en"].url_at.endswith("image_mcq.py:6")  # where the entry is written
    assert files["MMMU_DEV_VAL"].cls == "MMMUDataset"
    assert files["ExtraBench"].url_at.startswith("vlmeval/dataset/extra_urls.py:")
    assert files["VSR-zeroshot"].filename == "VSR-zeroshot.tsv"  # not the URL's file name
    # VLMEvalKit accepts any file when the class has no md5 for it (image_base.py:229)
    assert read_datasets(checkout, ["OCRBench_MINI"])["OCRBench_MINI"].md5 is None


def test_unknown_dataset_lists_close_matches(standin):
    with pytest.raises(LMUDataError, match=r"MMstar: no DATASET_URL .* did you mean MMStar") as err:
        read_datasets(standin[0], ["MMstar"])
    assert "eval.vlmeval.datasets" in str(err.value)


def test_entries_that_cannot_be_read_statically_name_dataset_file_and_fix(standin):
    checkout = standin[0]
    with pytest.raises(LMUDataError) as err:
        read_datasets(checkout, ["LoopBench", "CompBench", "HubOnly", "MMStar"])
    msg = str(err.value)
    assert re.search(r"LoopBench: appears at vlmeval/dataset/image_mcq.py:\d+.*for statement", msg)
    assert "CompBench: appears at vlmeval/dataset/image_vqa.py:" in msg and "DictComp" in msg
    assert "HubOnly: DATASET_URL of HubOnly (vlmeval/dataset/image_mcq.py:" in msg
    assert "by hand" in msg and "MMStar" not in msg  # all problems at once, only the bad ones


def test_a_class_that_reads_its_own_files_is_refused(standin):
    with pytest.raises(
        LMUDataError, match=r"CustomMCQDataset overrides load_data \(vlmeval/dataset/image_mcq"
    ):
        read_datasets(standin[0], ["MMStar"], classes={"MMStar": "CustomMCQDataset"})
    assert read_datasets(standin[0], ["MMStar"], classes={"MMStar": "ImageMCQDataset"})["MMStar"].md5


def test_fetch_puts_each_tsv_where_vlmevalkit_looks_and_records_it(standin, http_server, tmp_path):
    checkout, payloads = standin
    lmu = tmp_path / "LMUData"
    names = ["VSR-zeroshot", "MMMB_en", "OCRBench_MINI"]
    fetch_lmudata(checkout, names, lmu, lmu / "manifest.json", commit="e8e78f05" * 5, policy=FAST)
    for name in names:
        assert (lmu / f"{name}.tsv").read_bytes() == payloads[name]
    assert not list(lmu.glob("vsr_zeroshot*"))
    manifest = json.loads((lmu / "manifest.json").read_text())
    assert manifest["vlmevalkit_commit"] == "e8e78f05" * 5
    vsr = manifest["datasets"]["VSR-zeroshot"]
    assert vsr["file"] == "VSR-zeroshot.tsv" and vsr["size"] == len(payloads["VSR-zeroshot"])
    assert vsr["md5"] == _md5(payloads["VSR-zeroshot"]) and vsr["url"].endswith("yn_strict.tsv")
    assert vsr["class"] == "ImageYORNDataset" and vsr["localize"] is False
    assert manifest["datasets"]["OCRBench_MINI"]["md5"] == _md5(payloads["OCRBench_MINI"])


def test_wrong_md5_is_refused_and_nothing_is_recorded(standin, http_server, tmp_path):
    checkout, payloads = standin
    http_server.behaviour[PATHS["POPE"]].corrupt = True
    lmu = tmp_path / "LMUData"
    with pytest.raises(ChecksumError, match=r"POPE: POPE.tsv from .* md5 .*image_yorn.py:\d+") as err:
        fetch_lmudata(checkout, ["POPE", "MMStar"], lmu, lmu / "manifest.json", policy=FAST)
    assert "pin a VLMEvalKit commit" in str(err.value)
    assert not (lmu / "manifest.json").exists()
    assert not (lmu / "POPE.tsv").exists() and not (lmu / "POPE.tsv.part").exists()
    assert (lmu / "MMStar.tsv").read_bytes() == payloads["MMStar"]  # the others are still fetched


def test_rerun_reuses_verified_files_without_downloading(standin, http_server, tmp_path):
    checkout = standin[0]
    lmu = tmp_path / "LMUData"
    fetch_lmudata(checkout, ["MMStar", "DocVQA_VAL"], lmu, lmu / "manifest.json", policy=FAST)
    first = (lmu / "manifest.json").read_bytes()
    asked = len(http_server.requests)
    (lmu / "manifest.json").unlink()  # Snakemake deletes the output before rerunning the rule
    fetch_lmudata(checkout, ["MMStar", "DocVQA_VAL"], lmu, lmu / "manifest.json", policy=FAST)
    assert len(http_server.requests) == asked
    assert (lmu / "manifest.json").read_bytes() == first


def test_a_truncated_download_is_resumed_and_a_stale_file_replaced(standin, http_server, tmp_path):
    checkout, payloads = standin
    lmu = tmp_path / "LMUData"
    lmu.mkdir()
    data = payloads["MMVP"]
    (lmu / "MMVP.tsv.part").write_bytes(data[:12_345])  # an interrupted earlier run
    (lmu / "MMStar.tsv").write_bytes(payloads["MMStar"][:999])  # VLMEvalKit would re-download this
    fetch_lmudata(checkout, ["MMVP", "MMStar"], lmu, lmu / "manifest.json", policy=FAST)
    assert (lmu / "MMVP.tsv").read_bytes() == data
    assert (PATHS["MMVP"], "bytes=12345-") in http_server.requests
    assert (lmu / "MMStar.tsv").read_bytes() == payloads["MMStar"]


def test_download_failure_names_the_dataset_and_keeps_going(standin, http_server, tmp_path):
    checkout = standin[0]
    http_server.behaviour[PATHS["MMVP"]].status = 404
    lmu = tmp_path / "LMUData"
    with pytest.raises(DownloadError, match=r"MMVP: .*404") as err:
        fetch_lmudata(checkout, ["MMVP", "POPE"], lmu, lmu / "manifest.json", policy=FAST)
    assert "POPE:" not in str(err.value) and (lmu / "POPE.tsv").is_file()


def test_git_checkout_must_be_at_the_pinned_commit(standin, tmp_path):
    checkout = standin[0]
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=checkout, check=True)
    subprocess.run([*git, "add", "."], cwd=checkout, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=checkout, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=checkout, capture_output=True, text=True).stdout
    with pytest.raises(LMUDataError, match="not the pinned"):
        fetch_lmudata(checkout, ["MMStar"], tmp_path / "L", tmp_path / "L" / "m.json", commit="1" * 40)
    fetch_lmudata(checkout, ["MMStar"], tmp_path / "L", tmp_path / "L" / "m.json", policy=FAST)
    assert json.loads((tmp_path / "L" / "m.json").read_text())["vlmevalkit_commit"] == head.strip()


def test_each_job_gets_its_own_folder_of_links(standin, tmp_path):
    checkout, payloads = standin
    lmu = tmp_path / "LMUData"
    fetch_lmudata(checkout, ["MMStar", "POPE"], lmu, lmu / "manifest.json", policy=FAST)
    job = link_lmudata(lmu / "manifest.json", tmp_path / "job" / "LMUData")
    assert (job / "MMStar.tsv").is_symlink()
    assert _md5((job / "POPE.tsv").read_bytes()) == _md5(payloads["POPE"])  # VLMEvalKit's check reads through
    assert link_lmudata(lmu / "manifest.json", job) == job  # idempotent
    assert sorted(p.name for p in job.iterdir()) == ["MMStar.tsv", "POPE.tsv"]


def test_snakemake_script_passes_its_inputs_and_params(standin, tmp_path, monkeypatch):
    class Params(dict):
        __getattr__ = dict.__getitem__

    class Job:
        input = Params(checkout=str(standin[0]))
        output = [str(tmp_path / "LMUData" / "manifest.json")]
        log = [str(tmp_path / "log")]
        params = Params(
            datasets=["MMStar"], lmudata=str(tmp_path / "LMUData"), commit="a" * 40, retry={"retries": 1}
        )

    monkeypatch.setattr("sgt.logs.setup_logging", lambda *a, **k: None)
    runpy.run_path(str(REPO / "workflow" / "scripts" / "vlmeval_data.py"), init_globals={"snakemake": Job})
    manifest = json.loads(Path(Job.output[0]).read_text())
    assert list(manifest["datasets"]) == ["MMStar"] and manifest["vlmevalkit_commit"] == "a" * 40


@pytest.mark.skipif(
    not os.environ.get("SGT_VLMEVALKIT_CHECKOUT"),
    reason="set SGT_VLMEVALKIT_CHECKOUT to a VLMEvalKit checkout",
)
def test_real_checkout_gives_url_and_md5_of_every_default_dataset():
    checkout = Path(os.environ["SGT_VLMEVALKIT_CHECKOUT"])
    files = read_datasets(checkout, DEFAULT_DATASETS)
    assert list(files) == list(DEFAULT_DATASETS)
    for name, f in files.items():
        assert f.url.startswith("https://") and f.url.endswith(".tsv"), (name, f.url)
        assert f.md5 is not None and re.fullmatch(r"[0-9a-f]{32}", f.md5), name
        assert name in _line(checkout, f.url_at) and f.md5 in _line(checkout, f.md5_at), (name, f)
