"""Training throughput and peak memory of the torch and DeepSpeed (ZeRO-2) engines on the same loop.

    PYTHONPATH=src python benchmarks/train.py [--steps 20] [--skip 3] [--threads 1] [--batch-size 8]
        [--arch demo|smallest] [--repeats 1] [--out bench.json]

Three batch kinds, each trained by both engines from the same initial weights and data:
- understanding: VQA only (``{vqa: 1}``, the SFT variant);
- generation:    one proxy task only (``{semantic: 1}``, a Table 6 variant);
- mixed:         the paper's 1:2 ratio (``{vqa: 1, semantic: 2}``).
Each (engine, kind) runs in its own child process, so its peak RSS (``resource.getrusage``: imports, model,
engine, activations) is its own; ``train delta`` is that peak minus the RSS just before ``train()``.
Samples/s is the median over the steps after the first ``--skip`` (wall time per step as the loop records
it, one thread by default); ``setup s`` is the rest of the ``train()`` call (engine start, checkpoint).
The model is the demo's tiny UMM (``config/config.yaml``) on random 64x64 images; repeats are interleaved
across cases and the best repeat counts. Prints absolute numbers, then deepspeed/torch ratios.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

logger = logging.getLogger("benchmarks.train")
REPO = Path(__file__).resolve().parents[1]
ENGINES = ("torch", "deepspeed")
KINDS = {
    "understanding": {"vqa": 1},
    "generation": {"semantic": 1},
    "mixed": {"vqa": 1, "semantic": 2},
}


def _rss_mb() -> float:
    """Resident set size now (Linux /proc), in MB."""
    import os

    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _worker(engine: str, kind: str, args: argparse.Namespace) -> dict[str, float]:
    """One (engine, kind) run in this process; returns its numbers."""
    import torch
    import yaml

    from sgt.models.tiny_inputs import PairSet, VQASet
    from sgt.models.tiny_umm import TinyUMM, TinyUMMConfig
    from sgt.testing.tiny import SMALLEST
    from sgt.train.loop import train
    from sgt.train.settings import TrainConfig

    if args.arch == "demo":
        arch = yaml.safe_load((REPO / "config" / "config.yaml").read_text())["models"]["tiny"]["architecture"]
        model_cfg = TinyUMMConfig.from_dict(arch)
    else:
        model_cfg = SMALLEST
    size, n = model_cfg.image_size, 64
    g = torch.Generator().manual_seed(0)
    images = torch.rand(n, 3, size, size, generator=g)
    answers = [str(i % 5) for i in range(n)]
    sources: dict[str, VQASet | PairSet] = {
        "vqa": VQASet(images, ["how many circles are there?"] * n, answers),
        "semantic": PairSet("semantic", images, images.flip(3), ["generate the semantic segmentation."] * n),
    }
    torch.manual_seed(0)
    model = TinyUMM(model_cfg)
    cfg = TrainConfig(
        steps=args.steps,
        batch_size=args.batch_size,
        lr=5e-4,
        warmup=2,
        checkpoint_every=10**9,
        threads=args.threads,
        engine=engine,
        vit_lr_scale=0.3,
    )
    before = _rss_mb()
    with tempfile.TemporaryDirectory() as work:
        start = time.perf_counter()
        metrics = train(model, sources, KINDS[kind], cfg, work)
        total = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    step_s = [args.batch_size / m["samples_per_s"] for m in metrics]
    return {
        "samples_per_s": statistics.median(m["samples_per_s"] for m in metrics[args.skip :]),
        "setup_s": total - sum(step_s),
        "peak_rss_mb": peak,
        "train_delta_mb": peak - before,
        "final_loss": metrics[-1]["loss"],
    }


def _run_case(engine: str, kind: str, args: argparse.Namespace) -> dict[str, float]:
    argv = [sys.executable, __file__, "--worker", engine, kind, "--steps", str(args.steps)]
    argv += ["--skip", str(args.skip), "--threads", str(args.threads), "--batch-size", str(args.batch_size)]
    argv += ["--arch", args.arch]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{engine}/{kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> dict[str, dict[str, dict[str, float]]]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=20, help="training steps per case")
    parser.add_argument("--skip", type=int, default=3, help="first steps left out of samples/s (warm-up)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per case")
    parser.add_argument("--batch-size", type=int, default=8, help="samples per batch (the demo fine-tune's)")
    parser.add_argument("--arch", choices=("demo", "smallest"), default="demo", help="tiny-UMM size")
    parser.add_argument("--repeats", type=int, default=1, help="runs per case; the best counts")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "KIND"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.skip >= args.steps:
        parser.error("--skip must be smaller than --steps")
    if args.worker:
        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(_worker(*args.worker, args)))
        return {}
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    best: dict[str, dict[str, dict[str, float]]] = {e: {} for e in ENGINES}
    for r in range(args.repeats):
        for kind in KINDS:
            for engine in ENGINES:
                res = _run_case(engine, kind, args)
                logger.info("repeat %d %s/%s: %.1f samples/s", r, engine, kind, res["samples_per_s"])
                old = best[engine].get(kind)
                if old is None or res["samples_per_s"] > old["samples_per_s"]:
                    best[engine][kind] = res
    cols = ("samples_per_s", "setup_s", "peak_rss_mb", "train_delta_mb")
    widths = (11, 9, 13, 16)

    def row(first: str, second: str, values: dict[str, float], digits: int) -> str:
        cells = "".join(f"{values[c]:>{w}.{digits}f}" for c, w in zip(cols, widths, strict=True))
        return f"{first:<15}{second:<11}{cells}"

    header = ("samples/s", "setup s", "peak RSS MB", "train delta MB")
    print(f"{'kind':<15}{'engine':<11}" + "".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    for kind in KINDS:
        for engine in ENGINES:
            print(row(kind, engine, best[engine][kind], 1))
    print(f"\n{'kind':<15}{'ratio':<11}" + "".join(f"{h:>{w}}" for h, w in zip(header, widths, strict=True)))
    ratios: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        t, d = best["torch"][kind], best["deepspeed"][kind]
        ratios[kind] = {c: d[c] / t[c] if t[c] else float("nan") for c in cols}
        print(row(kind, "ds/torch", ratios[kind], 2))
    results = {**best, "ratio_deepspeed_over_torch": ratios}
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        meta = {k: getattr(args, k) for k in ("steps", "skip", "threads", "batch_size", "arch")}
        args.out.write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
    return results


if __name__ == "__main__":
    main()
