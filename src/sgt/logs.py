"""Logging set-up for entry points (rule scripts, CLI): to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from pathlib import Path
from types import TracebackType

HISTORY_SUFFIX = ".all"  # every attempt's log, appended: Snakemake deletes a rule's log before a rerun


def history_path(log_file: str | Path) -> Path:
    """Where every attempt of a rule's log is kept (``<log>.all``)."""
    path = Path(log_file)
    return path.with_name(path.name + HISTORY_SUFFIX)


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send ``logging`` to ``log_file`` and stderr, uncaught tracebacks included.

    Snakemake removes a job's log before it runs the job again, so an interrupted attempt's log (often the
    only record of why it stopped) would be lost: each attempt is also appended to ``<log>.all``.
    """
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
        history = logging.FileHandler(history_path(log_file), mode="a", encoding="utf-8")
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        history.stream.write(
            f"=== attempt started {stamp} on {socket.gethostname()} (pid {os.getpid()}) ===\n"
        )
        handlers.append(history)
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )

    def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        logging.getLogger("sgt").error("uncaught exception", exc_info=(kind, value, tb))

    sys.excepthook = _excepthook
