"""Mechanism analyses (Figs. 7, 8a, 8b) of the cluster models, measured in their upstream model code.

A registry maps a model backend to its extractor: one of our modules, run with ``python -m`` inside the
backend's checkout (the preflight's mechanism, so upstream's imports resolve), that hooks the model and
writes raw numbers; ``run`` turns them into the same CSVs the tiny analysis writes. A figure an
architecture cannot give is listed with its reason, which reaches the figure and the notes table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

FIGURES = ("fig7", "fig8a", "fig8b")


@dataclass(frozen=True, slots=True)
class Extractor:
    """``module`` measures every figure except those in ``unavailable`` (figure -> reason)."""

    module: str
    unavailable: Mapping[str, str] = field(default_factory=dict)


EXTRACTORS: dict[str, Extractor] = {
    "bagel": Extractor("sgt.analysis.cluster.bagel_extract"),
    "omnigen2": Extractor(
        "sgt.analysis.cluster.omnigen2_extract",
        unavailable={
            "fig8b": (
                "not measured for OmniGen2: its prompt-to-noise attention lives in the diffusion "
                "transformer, which the eval folder (the fine-tuned Qwen2.5-VL only) does not hold; "
                "the paper analyses BAGEL only"
            )
        },
    ),
}


def extractor_for(backend: str) -> Extractor:
    """The registered extractor of ``backend``; a clear error for a backend without one."""
    try:
        return EXTRACTORS[backend]
    except KeyError:
        raise ValueError(
            f"no mechanism-analysis extractor for backend {backend!r} "
            f"(have: {', '.join(sorted(EXTRACTORS))}); "
            "set analysis.compare: [] or register one in sgt.analysis.cluster.EXTRACTORS"
        ) from None
