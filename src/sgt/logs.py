"""Logging set-up for entry points (rule scripts, CLI): to the rule's log file and to stderr."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import TracebackType


def setup_logging(log_file: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send ``logging`` to ``log_file`` and stderr, and log uncaught tracebacks too."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, mode="w", encoding="utf-8"))
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )

    def _excepthook(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        logging.getLogger("sgt").error("uncaught exception", exc_info=(kind, value, tb))

    sys.excepthook = _excepthook
