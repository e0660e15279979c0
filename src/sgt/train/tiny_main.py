"""``python -m sgt.train.tiny_main CONFIG WORKDIR``: the tiny backend's launch command.

A separate process, like the cluster backends' launchers, so the training rule runs every model the same way;
its log goes to stderr, which the launcher appends to the rule's log.
"""

from __future__ import annotations

import argparse

from sgt.logs import setup_logging
from sgt.train.tiny_backend import finetune_from_config


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", help="JSON written by TinyBackend.write_config")
    parser.add_argument("workdir", help="run folder: resumable checkpoints and the finished model")
    args = parser.parse_args(argv)
    setup_logging(None)
    finetune_from_config(args.config, args.workdir)


if __name__ == "__main__":
    main()
