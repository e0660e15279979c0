"""What the judge-scored benchmarks (GEdit-Bench-EN, DPG-Bench) share: asking item by item with a resumable
cache, deciding whether the benchmark has a number, and the tidy rows with the note that says why not.

A benchmark value is reported only when the endpoint answered for every item and no more than
``eval.judge.max_unscored_fraction`` of the items got a reply without a score; otherwise its headline row is
NaN with a note, so the report shows the reason and never a zero or a number from part of the benchmark.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgt.eval.judge.chat import JudgeUnavailable
from sgt.io import atomic_write_text
from sgt.scores import score_columns, write_tidy

logger = logging.getLogger(__name__)

COLUMNS = score_columns("headline", "note", "source")
NO_ENDPOINT = "not scored: no judge endpoint (eval.judge)"


@dataclass(slots=True)
class JudgeRun:
    """Per item key its result (None: the replies held no score), and why asking stopped, if it did."""

    results: dict[str, Any] = field(default_factory=dict)
    unavailable: str | None = None

    def unscored(self, keys: Sequence[str]) -> int:
        return sum(self.results.get(k) is None for k in keys)


class ItemCache:
    """Scored items of one job, one JSON line each, so a rerun asks the judge only for the rest.

    A line counts only while its ``stamp`` (judge model, image size and mtime) still matches.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lines: dict[str, dict[str, Any]] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    rec = json.loads(line)
                    self.lines[str(rec["key"])] = rec
                except (json.JSONDecodeError, KeyError, TypeError):
                    continue  # a line cut by a killed job: that item is asked again

    def get(self, key: str, stamp: str) -> Any | None:
        rec = self.lines.get(key)
        return rec["result"] if rec is not None and rec.get("stamp") == stamp else None

    def put(self, key: str, stamp: str, result: Any) -> None:
        self.lines[key] = {"key": key, "stamp": stamp, "result": result}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(self.lines[key]) + "\n")

    def compact(self) -> None:
        """Rewrite the file with one line per item (reruns append)."""
        if self.lines:
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in self.lines.values()))


def file_stamp(model: str, paths: Iterable[str | os.PathLike[str]]) -> str:
    parts = [model]
    for p in paths:
        st = os.stat(p)
        parts.append(f"{st.st_size}:{st.st_mtime_ns}")
    return "|".join(parts)


def ask_items(
    keys: Sequence[str],
    ask: Callable[[str], Any | None],
    cache: ItemCache,
    stamp: Callable[[str], str],
    workers: int = 1,
) -> JudgeRun:
    """``ask(key)`` for every key not in ``cache``, ``workers`` at a time; after the first
    ``JudgeUnavailable`` (the endpoint's own retries spent) no further item is started, since each would
    wait out the same retries. Results are cached as they come: a killed job loses only those in flight."""
    run = JudgeRun()
    todo = []
    for key in keys:
        cached = cache.get(key, stamp(key))
        if cached is not None:
            run.results[key] = cached
        else:
            todo.append(key)
    logger.info(
        "%d of %d items already scored (%s); asking the judge for %d",
        len(run.results),
        len(keys),
        cache.path,
        len(todo),
    )
    queue = iter(todo)
    asked = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        in_flight: dict[Future[Any], str] = {}

        def submit_next() -> None:
            key = next(queue, None)
            if key is not None and run.unavailable is None:
                in_flight[pool.submit(ask, key)] = key

        for _ in range(max(1, workers)):
            submit_next()
        while in_flight:
            finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in finished:
                key = in_flight.pop(future)
                asked += 1
                try:
                    result = future.result()
                except JudgeUnavailable as err:
                    if run.unavailable is None:
                        run.unavailable = str(err)
                        logger.error("judge unavailable (item %s): %s; asking no further items", key, err)
                    continue
                run.results[key] = result
                if result is not None:
                    cache.put(key, stamp(key), result)
                else:
                    logger.warning("%s: the judge's replies held no score; item unscored", key)
                if asked % 50 == 0:
                    logger.info("%d of %d items asked", asked, len(todo))
                submit_next()
    cache.compact()
    return run


def verdict(run: JudgeRun, keys: Sequence[str], max_unscored_fraction: float, rule: str) -> tuple[bool, str]:
    """(report a value?, the headline's note) for a finished ``run`` over ``keys``."""
    n, unscored = len(keys), run.unscored(keys)
    if run.unavailable is not None:
        return False, (
            f"not scored: {run.unavailable}; {unscored} of {n} items unscored; rerun with "
            f"--forcerun {rule} once the endpoint answers (scored items are kept)"
        )
    if n and unscored / n > max_unscored_fraction:
        return False, (
            f"not scored: {unscored} of {n} items unscored (judge replies without a score), more than "
            f"eval.judge.max_unscored_fraction = {max_unscored_fraction}"
        )
    return True, f"{unscored} of {n} items unscored (judge replies without a score)" if unscored else ""


def tidy_rows(
    ident: Mapping[str, Any],
    benchmark: str,
    values: Mapping[str, float] | None,
    note: str,
    source: str,
) -> list[dict[str, Any]]:
    """Rows of one benchmark; ``values`` None: only the NaN ``overall`` headline with its note."""
    base = dict(ident) | {"benchmark": benchmark, "source": source}
    if values is None:
        return [base | {"metric": "overall", "value": math.nan, "headline": True, "note": note}]
    return [
        base
        | {
            "metric": metric,
            "value": round(float(v), 4) if not math.isnan(v) else math.nan,
            "headline": metric == "overall",
            "note": note if metric == "overall" else "",
        }
        for metric, v in values.items()
    ]


def write_rows(rows: Sequence[Mapping[str, Any]], out: str | os.PathLike[str]) -> None:
    write_tidy(rows, out, columns=COLUMNS)
