"""Subsets (top-level folders of parquet shards) of a Hugging Face dataset repo, via ``huggingface_hub``.

A subset is listed at one commit. A branch or tag is resolved once, and the commit and each subset's
listing (path, size, sha256) are recorded in a JSON file meant to be committed
(``<checksums_dir>/llava_onevision.json``), so later runs and other machines fetch the same bytes. Each
shard is fetched with ``hf_hub_download`` into a mirror of the repository; it resumes a dropped transfer
with a Range request. Every shard is then checked against the listing's sha256 (LFS) or git blob id, also
when it was already on disk, because huggingface_hub trusts a local copy whose metadata matches and checks
only the size of what it fetches. ``HF_ENDPOINT``, ``HF_TOKEN`` and ``HF_HUB_OFFLINE`` are honoured;
offline, the recorded listing stands in for the Hub and only files already on disk (and verified) are used.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

from sgt.data.download import ChecksumError, RetryPolicy, locked
from sgt.data.sources import check_relative_name
from sgt.io import atomic_write_json, read_json

logger = logging.getLogger(__name__)

COMMIT = re.compile(r"[0-9a-f]{40}")
T = TypeVar("T")
DEFAULT_POLICY = RetryPolicy()


class HubError(RuntimeError):
    """The Hub refused or could not answer; the message names the repository, subset or file and the fix."""


@dataclass(frozen=True, slots=True)
class HubFile:
    path: str  # repository path, e.g. "CLEVR-Math(MathV360K)/train-00000-of-00002.parquet"
    size: int
    sha256: str | None  # the LFS object id (the file's sha256); None for a file stored in git itself
    git_oid: str  # the git blob id


@dataclass(frozen=True, slots=True)
class SubsetManifest:
    """What one download job fetched: every file of ``subset`` at ``commit``, with its sha256."""

    repo: str
    revision: str
    commit: str
    subset: str
    files: tuple[HubFile, ...]


def hub_endpoint() -> str:
    """``HF_ENDPOINT`` read now (huggingface_hub reads it once, at import)."""
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT", "").strip().rstrip("/") or constants.ENDPOINT


def hub_offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().upper()
    return constants.is_offline_mode() or flag in {"1", "ON", "YES", "TRUE"}


# ---------------------------------------------------------------------------------------------- record


def _read_record(path: Path) -> dict[str, Any]:
    return read_json(path) if path.is_file() else {}


def _repo_entry(data: dict[str, Any], repo: str) -> dict[str, Any]:
    entry = data.setdefault(repo, {})
    entry.setdefault("refs", {})
    entry.setdefault("trees", {})
    return entry


def _files(rows: list[dict[str, Any]]) -> list[HubFile]:
    return [HubFile(r["path"], int(r["size"]), r.get("sha256"), r["git_oid"]) for r in rows]


def resolve_commit(
    repo: str, revision: str, record: Path, api: Any, *, policy: RetryPolicy, sleep: Callable[[float], None]
) -> str:
    """The commit of ``revision``: itself when pinned, else the recorded one, else asked once and recorded."""
    if COMMIT.fullmatch(revision):
        return revision
    with locked(record):
        data = _read_record(record)
        refs = _repo_entry(data, repo)["refs"]
        if revision in refs:
            return refs[revision]
        if hub_offline():
            raise HubError(
                f"data.llava.revision {revision!r} of {repo} has no commit recorded in {record} and "
                "HF_HUB_OFFLINE is set: pin data.llava.revision to a 40-hex commit, or run once online"
            )
        info = _hub_call(
            lambda: api.dataset_info(repo, revision=revision),
            repo=repo,
            what=f"revision {revision!r}",
            policy=policy,
            sleep=sleep,
        )
        if not info.sha or not COMMIT.fullmatch(info.sha):
            raise HubError(f"{hub_endpoint()}: {repo}@{revision} resolved to {info.sha!r}, not a commit")
        refs[revision] = info.sha
        atomic_write_json(record, data)
    logger.info("%s@%s is commit %s (recorded in %s)", repo, revision, info.sha, record)
    return info.sha


def list_subset(api: Any, repo: str, commit: str, subset: str) -> list[HubFile]:
    """The parquet files under ``subset/`` at ``commit``, sorted by path."""
    from huggingface_hub.hf_api import RepoFile

    tree = api.list_repo_tree(repo, path_in_repo=subset, recursive=True, revision=commit, repo_type="dataset")
    entries = [e for e in tree if isinstance(e, RepoFile)]
    files = []
    for e in entries:
        if e.path.endswith(".parquet") and e.path.startswith(f"{subset}/"):
            check_relative_name(e.path, what=f"{repo}@{commit[:12]} listing")  # it becomes a local path
            files.append(HubFile(e.path, int(e.size), e.lfs.sha256 if e.lfs else None, e.blob_id))
    if not files:
        others = ", ".join(sorted(e.path.rsplit("/", 1)[-1] for e in entries)[:5]) or "nothing"
        raise HubError(
            f"{repo}@{commit[:12]}: subset {subset!r} holds no parquet files (it holds {others}); "
            "LLaVA-OneVision's cambrian(filtered), for one, ships a JSON file and an image tarball: "
            "replace the subset in the mixture"
        )
    return sorted(files, key=lambda f: f.path)


def _transient(err: BaseException) -> bool:
    """A network or server hiccup worth retrying, anywhere in the exception's cause chain."""
    from huggingface_hub.errors import HfHubHTTPError

    seen: BaseException | None = err
    while seen is not None:
        if any(c.__name__ == "TransportError" for c in type(seen).__mro__):  # httpx's or httpx2's
            return True
        if isinstance(seen, HfHubHTTPError) and seen.response is not None:
            status = seen.response.status_code
            if status in (408, 429) or status >= 500:
                return True
        if isinstance(seen, OSError) and "Consistency check failed" in str(seen):
            return True
        seen = seen.__cause__
    return False


def _hub_call(
    fn: Callable[[], T],
    *,
    repo: str,
    what: str,
    policy: RetryPolicy,
    sleep: Callable[[float], None],
    missing: str = "",
) -> T:
    """``fn()`` with retries on transient errors; Hub errors become a :class:`HubError` with the fix."""
    from huggingface_hub import get_token
    from huggingface_hub.errors import (
        GatedRepoError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    page = f"{hub_endpoint()}/datasets/{repo}"
    failures = 0
    while True:
        try:
            return fn()
        except GatedRepoError:
            fix = (
                "the token in HF_TOKEN (or the saved login) has no access: accept the terms with that account"
                if get_token()
                else "set HF_TOKEN to a token of an account that accepted the terms"
            )
            raise HubError(f"{repo} is gated ({what}): {fix} at {page}") from None
        except RepositoryNotFoundError:
            raise HubError(
                f"{repo} not found at {hub_endpoint()} ({what}): check data.llava.repo and HF_ENDPOINT; "
                "a private repository needs HF_TOKEN"
            ) from None
        except RevisionNotFoundError:
            raise HubError(
                f"{repo} has no {what}: check data.llava.revision against {page}/commits/main"
            ) from None
        except RemoteEntryNotFoundError:
            raise HubError(missing or f"{repo}: {what} not found; see {page}/tree/main") from None
        except Exception as err:  # classified below: re-raised unless transient
            if not _transient(err):
                raise
            failures += 1
            if failures > policy.retries:
                raise HubError(
                    f"{page}: {what} failed {failures} times ({err}); check the network, proxy or "
                    "HF_ENDPOINT and rerun (finished files are kept)"
                ) from err
            delay = min(policy.max_backoff_s, policy.backoff_s * 2 ** (failures - 1))
            logger.warning("%s: %s; retrying in %.1f s", what, err, delay)
            sleep(delay)


# ---------------------------------------------------------------------------------------------- files


def _check(path: Path, want: HubFile) -> tuple[str, str | None]:
    """(sha256 of ``path``, what is wrong with it or None)."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    git = hashlib.sha1(f"blob {size}\0".encode()) if want.sha256 is None else None  # git's blob id
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            sha256.update(block)
            if git is not None:
                git.update(block)
    digest = sha256.hexdigest()
    if size != want.size:
        return digest, f"size {size} bytes, expected {want.size}"
    if want.sha256 is not None and digest != want.sha256:
        return digest, f"sha256 {digest}, expected {want.sha256}"
    if git is not None and git.hexdigest() != want.git_oid:
        return digest, f"git blob id {git.hexdigest()}, expected {want.git_oid}"
    return digest, None


def fetch_file(
    want: HubFile,
    local_dir: Path,
    repo: str,
    commit: str,
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> HubFile:
    """``local_dir/<path>`` verified against ``want``: kept when it matches, else fetched (again)."""
    from huggingface_hub import hf_hub_download

    dest = local_dir / want.path
    force = False
    if dest.is_file():
        sha256, problem = _check(dest, want)
        if problem is None:
            logger.info("%s already present and verified", dest)
            return HubFile(want.path, want.size, sha256, want.git_oid)
        if hub_offline():
            raise ChecksumError(
                f"{dest} does not match {repo}@{commit[:12]} ({problem}) and HF_HUB_OFFLINE is set: unset it "
                "to fetch the file again, or replace it with a good copy"
            )
        logger.warning("%s does not match the listing (%s); fetching it again", dest, problem)
        force = True
    elif hub_offline():
        raise HubError(
            f"{dest} is missing and HF_HUB_OFFLINE is set: unset HF_HUB_OFFLINE to download it, or copy the "
            f"subset's files from {repo}@{commit} there"
        )
    got = _hub_call(
        lambda: hf_hub_download(
            repo,
            want.path,
            repo_type="dataset",
            revision=commit,
            local_dir=local_dir,
            force_download=force,
            endpoint=hub_endpoint(),
        ),
        repo=repo,
        what=want.path,
        policy=policy,
        sleep=sleep,
        missing=f"{repo}@{commit[:12]} lists {want.path} but will not serve it; rerun, or report it upstream",
    )
    sha256, problem = _check(Path(got), want)
    if problem is not None:
        Path(got).unlink(missing_ok=True)
        raise ChecksumError(
            f"{want.path} from {repo}@{commit[:12]} does not match its listing ({problem}). The bytes were "
            "discarded; rerun to fetch it again"
        )
    logger.info("downloaded %s (%d bytes, sha256 %s)", got, want.size, sha256)
    return HubFile(want.path, want.size, sha256, want.git_oid)


def fetch_subset(
    repo: str,
    revision: str,
    subset: str,
    manifest: str | os.PathLike[str],
    record: str | os.PathLike[str],
    *,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> SubsetManifest:
    """List ``subset`` at the commit of ``revision``, fetch and verify its parquet files into the manifest's
    folder (in the repository's layout, ``<folder>/<subset>/...``), then write the manifest atomically."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import disable_progress_bars

    if not sys.stderr.isatty():
        disable_progress_bars()  # keep job logs clean
    local_dir, record = Path(manifest).parent, Path(record)
    api = HfApi(endpoint=hub_endpoint())
    commit = resolve_commit(repo, revision, record, api, policy=policy, sleep=sleep)
    with locked(record):
        recorded = _repo_entry(_read_record(record), repo)["trees"].get(commit, {}).get(subset)
    listing = _files(recorded) if recorded is not None else None
    if not hub_offline():
        live = _hub_call(
            lambda: list_subset(api, repo, commit, subset),
            repo=repo,
            what=f"subset {subset!r} at {commit[:12]}",
            policy=policy,
            sleep=sleep,
            missing=(
                f"{repo}@{commit[:12]} has no folder {subset!r}: fix the subset name in data.llava.subsets "
                f"or the mixture file (folders: {hub_endpoint()}/datasets/{repo}/tree/{commit})"
            ),
        )
        if listing is not None and listing != live:
            raise ChecksumError(
                f"{repo}@{commit[:12]}: the Hub lists {subset!r} differently from {record}, though a "
                "commit's files never change; check HF_ENDPOINT, or delete the subset's entry there to "
                "record it anew"
            )
        if listing is None:
            with locked(record):
                data = _read_record(record)
                trees = _repo_entry(data, repo)["trees"]
                trees.setdefault(commit, {})[subset] = [asdict(f) for f in live]
                atomic_write_json(record, data)
        listing = live
    elif listing is None:
        raise HubError(
            f"HF_HUB_OFFLINE is set and {record} records no listing of {subset!r} at {commit}: run once "
            "online (it records the listing), or unset HF_HUB_OFFLINE"
        )
    files = tuple(fetch_file(f, local_dir, repo, commit, policy=policy, sleep=sleep) for f in listing)
    result = SubsetManifest(repo, revision, commit, subset, files)
    atomic_write_json(manifest, asdict(result))
    size = sum(f.size for f in files)
    logger.info("%s: %d files, %.2f GB at %s@%s", subset, len(files), size / 1e9, repo, commit)
    return result


def read_subset_manifest(path: str | os.PathLike[str]) -> SubsetManifest:
    data = read_json(path)
    try:
        files = tuple(_files(data["files"]))
        return SubsetManifest(data["repo"], data["revision"], data["commit"], data["subset"], files)
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a subset manifest ({err}); delete it and rerun") from None


def verified_files(manifest_path: str | os.PathLike[str]) -> tuple[SubsetManifest, list[Path]]:
    """The manifest and its files (beside it, in the repository's layout), each checked against its sha256."""
    manifest = read_subset_manifest(manifest_path)
    root = Path(manifest_path).parent
    paths = []
    for f in manifest.files:
        path = root / f.path
        if not path.is_file():
            raise FileNotFoundError(f"{path} (in {manifest_path}) is missing; delete the manifest and rerun")
        _, problem = _check(path, f)
        if problem is not None:
            raise ChecksumError(
                f"{path} does not match {manifest_path} ({problem}); delete both and rerun to fetch it again"
            )
        paths.append(path)
    return manifest, paths
