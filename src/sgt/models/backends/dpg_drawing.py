"""DPG-Bench images from any backend whose GenEval drawer can run on another prompt file (issue #22).

DPG-Bench (ELLA's ``dpg_bench/``, rule checkout_dpg_bench) is 1,065 prompts, ``prompts/<item_id>.txt``, scored
by ``compute_dpg_bench.py`` on ``<item_id>.png``: a 2x2 grid of 4 samples that it crops in the order
(column, row) (0,0), (1,0), (0,1), (1,1) (``sgt.eval.dpg.scoring.GRID``; repeated here because models sit
below eval, and tests keep the two equal). The drawer writes the prompts as a GenEval-style metadata file (one
``{"prompt", "item_id"}`` line per item, in item order; gen_images_mp.py reads only "prompt"), runs the
backend's GenEval launch on it (``launch_on``: same script, same resume), then tiles each prompt's samples
into the grid and records one sample's side as ``resolution`` in ``sgt_generation.json`` with ``pic_num``.

Table 9 reports BAGEL only, so only BAGEL is registered; another backend is one ``register`` line. BAGEL's
settings: gen_images_mp.py's flags as for GenEval (4 images, 1024 px, batch 1, latent 64), with the SGT fork's
``BAGEL/scripts/eval/run_dpg.sh`` (song2yu/SGT e004548) for the cfg scale 3.0 and seed 15 its authors used
(that script runs their own gen_images_dpg.py, absent from our BAGEL pin).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from sgt.io import atomic_dir, atomic_write_text
from sgt.models.backend_interface import Launch
from sgt.models.backends.drawing import Job, drawer, register, settings_record
from sgt.models.backends.layouts import missing_samples

logger = logging.getLogger(__name__)

GRID = ((0, 0), (1, 0), (0, 1), (1, 1))  # ELLA compute_dpg_bench.py's crop order, (column, row)
PROMPTS = "dpg_bench/prompts"  # in the ELLA checkout
METADATA = "dpg_metadata.jsonl"
# per backend: DPG values that differ from its GenEval settings, with their source
DEFAULTS: dict[str, dict[str, Any]] = {
    "bagel": {"cfg_scale": 3.0, "seed": 15},  # song2yu/SGT BAGEL/scripts/eval/run_dpg.sh
}


@dataclass(frozen=True, slots=True)
class DPGSettings:
    """The generation seed (DPG has one per job) and the backend's GenEval-style settings."""

    seed: int
    draw: Any  # the GenEval drawer's settings


def dpg_prompts(ella: Path) -> list[tuple[str, str]]:
    """(item_id, prompt) of ``dpg_bench/prompts/<item_id>.txt``, sorted by item id."""
    root = Path(ella) / PROMPTS
    files = sorted(root.glob("*.txt")) if root.is_dir() else []
    if not files:
        raise FileNotFoundError(
            f"{root}: no <item_id>.txt prompts; is {ella} rule checkout_dpg_bench's ELLA?"
        )
    return [(f.stem, f.read_text(encoding="utf-8").strip()) for f in files]


def tile(samples: list[np.ndarray]) -> np.ndarray:
    """Four equal square samples as ELLA's 2x2 grid."""
    if (
        len(samples) != len(GRID)
        or len({s.shape for s in samples}) != 1
        or samples[0].shape[0] != samples[0].shape[1]
    ):
        raise ValueError(f"a DPG-Bench grid needs {len(GRID)} square samples of one size")
    r = samples[0].shape[0]
    grid = np.zeros((2 * r, 2 * r, 3), np.uint8)
    for sample, (col, row) in zip(samples, GRID, strict=True):
        grid[row * r : (row + 1) * r, col * r : (col + 1) * r] = sample
    return grid


class GenEvalStyleDPG:
    """DPG-Bench through the backend's GenEval drawer; registered per backend below."""

    needs: ClassVar[tuple[str, ...]] = ("ella",)
    backend: ClassVar[str]

    def settings(self, cfg: Mapping[str, Any]) -> DPGSettings:
        merged = {**DEFAULTS.get(self.backend, {}), **cfg}
        seed = int(merged.pop("seed", 0))
        try:
            draw = drawer(self.backend, "geneval").settings(merged)
        except KeyError as err:  # named by the GenEval section it reuses: name the DPG one
            raise KeyError(f"eval.cluster_dpg.{self.backend}: {err.args[0].split(': ', 1)[-1]}") from err
        if draw.num_images != len(GRID):
            raise ValueError(
                f"eval.cluster_dpg.{self.backend}.num_images must be {len(GRID)} (ELLA's 2x2 grid)"
            )
        return DPGSettings(seed, draw)

    def launch(self, backend: Any, job: Job, settings: DPGSettings) -> Launch:
        lines = [json.dumps({"prompt": p, "item_id": i}) for i, p in dpg_prompts(job.input("ella"))]
        metadata = Path(job.images).absolute().parent / METADATA
        atomic_write_text(metadata, "\n".join(lines) + "\n")
        seeded = Job(job.model, job.images, settings.seed, job.gpus, job.inputs)
        return drawer(self.backend, "geneval").launch_on(backend, seeded, settings.draw, metadata)  # type: ignore[attr-defined]

    def publish(self, backend: Any, job: Job, settings: DPGSettings, out: Path) -> None:
        """Tile each prompt's samples into ``<item_id>.png`` under ``out``; refuse a partial work folder."""
        images = Path(job.images)
        metadata = images.parent / METADATA
        n = len(GRID)
        missing = missing_samples(images, metadata, n)
        if missing:
            raise RuntimeError(
                f"{images}: {len(missing)} DPG prompts without all {n} samples (first {missing[:5]}); "
                "it stopped early: rerun the job, it keeps the finished prompts"
            )
        items = [json.loads(line)["item_id"] for line in metadata.read_text(encoding="utf-8").splitlines()]
        side = None
        with atomic_dir(Path(out)) as tmp:
            for idx, item in enumerate(items):
                folder = images / f"{idx:05}" / "samples"
                samples = [np.asarray(Image.open(folder / f"{k:05}.png").convert("RGB")) for k in range(n)]
                side = samples[0].shape[0]
                Image.fromarray(tile(samples)).save(tmp / f"{item}.png")
            record = {
                **settings_record(settings.draw),
                "resolution": side,  # measured: one sample's side, what the scorer crops by
                "pic_num": n,
                "seed": settings.seed,
                "items": len(items),
                "prompts": f"ELLA {PROMPTS}",
            }
            (tmp / "sgt_generation.json").write_text(json.dumps(record, indent=1))
        shutil.rmtree(images.parent)  # the samples live on in the grids
        logger.info("DPG-Bench grids (%d items, %d px samples) -> %s", len(items), side, out)


@register("bagel", "dpg")
class BagelDPG(GenEvalStyleDPG):
    backend: ClassVar[str] = "bagel"
