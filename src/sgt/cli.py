"""The ``sgt`` command line: the package's entry points for use outside Snakemake."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from sgt.logs import setup_logging

logger = logging.getLogger("sgt.cli")


def _toyworld(args: argparse.Namespace) -> int:
    from sgt.data.toyworld import ToyWorldSpec, write_toyworld

    spec = ToyWorldSpec(
        n_train=args.n_train, n_val=args.n_val, seed=args.seed, width=args.width, height=args.height
    )
    out = write_toyworld(spec, args.out)
    logger.info("toy world written to %s", out)
    return 0


def _add_toyworld(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("toyworld", help="write the procedurally generated COCO-format toy world")
    p.add_argument("--out", required=True, help="output folder (COCO 2017 layout)")
    p.add_argument("--n-train", type=int, default=480, help="images in train2017")
    p.add_argument("--n-val", type=int, default=96, help="images in val2017")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--width", type=int, default=160)
    p.add_argument("--height", type=int, default=120)
    p.set_defaults(func=_toyworld)


def _add_synth(sub: argparse._SubParsersAction) -> None:
    from sgt.targets.cli import add_synth_parser

    add_synth_parser(sub)


def _ship_base(args: argparse.Namespace) -> int:
    from sgt.io import read_json
    from sgt.train.shipped_base import ship

    summary = read_json(Path(args.model_dir) / "train.json")
    if "fingerprint" not in summary:
        raise ValueError(f"{args.model_dir}/train.json has no fingerprint: not a base built by `pretrain`")
    ship(args.model_dir, args.dest, summary["fingerprint"])
    return 0


def _add_ship_base(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ship-base", help="copy a base model built by the pretrain rule into the repository")
    p.add_argument("--model-dir", default="results/models/tiny/base", help="the pretrain rule's output")
    p.add_argument("--dest", default="checkpoints/tiny-base", help="where config points pretrain.shipped")
    p.set_defaults(func=_ship_base)


def _results(args: argparse.Namespace) -> int:
    from sgt.report.where import describe, result_paths

    print(describe(result_paths(args.root)))
    return 0


def _add_results(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("results", help="print the paths of the report, the tables and the findings of a run")
    p.add_argument("--root", default=".", help="the workflow's working directory")
    p.set_defaults(func=_results)


def _budget(args: argparse.Namespace) -> int:
    from sgt.budget import plan_budget

    try:
        print(plan_budget(args.configfile, Path(args.root), args.time_limit_h).markdown())
    except RuntimeError as err:
        raise ValueError(str(err)) from err
    return 0


def _add_budget(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "budget", help="GPU-hours and job-hours per rule and model of the planned study, before it runs"
    )
    p.add_argument(
        "--configfile", nargs="*", default=[], help="the config files the run names (default: none)"
    )
    p.add_argument("--root", default=".", help="the repository root the run starts from")
    p.add_argument("--time-limit-h", type=float, default=None, help="the partition's time limit, in hours")
    p.set_defaults(func=_budget)


SUBCOMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    _add_toyworld,
    _add_synth,
    _add_ship_base,
    _add_results,
    _add_budget,
]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sgt", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    args = parser.parse_args(argv)
    setup_logging(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, KeyError, ValueError) as err:
        logger.error("%s", err)
        return 2


if __name__ == "__main__":
    sys.exit(main())
