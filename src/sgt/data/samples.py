"""Walk a list of image ids through a dataset, passing over images that cannot be decoded.

Every per-image job (depth maps, target shards) must skip a corrupt image the same way: log it, count it
under ``"corrupt image"`` in the job's skip counts, and go on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Protocol

from tqdm import tqdm

from sgt.data.images import CorruptImageError
from sgt.data.records import Sample

logger = logging.getLogger(__name__)


class Loads(Protocol):
    def load(self, image_id: int) -> Sample: ...


def readable_samples(
    dataset: Loads, image_ids: Iterable[int], skipped: Counter[str], desc: str
) -> Iterator[tuple[int, Sample]]:
    """(image id, sample) for each readable image, in order, with a progress bar titled ``desc``."""
    for image_id in tqdm(image_ids, desc=desc, disable=None):
        try:
            sample = dataset.load(int(image_id))
        except CorruptImageError as err:
            logger.warning("%s", err)
            skipped["corrupt image"] += 1
            continue
        yield image_id, sample
