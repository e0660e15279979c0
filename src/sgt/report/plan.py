"""Which paper artefacts a study config can produce, from the config alone (so the DAG knows its outputs).

A variant joins a paper table through its ``tables`` key (``{table6: +Semantic}``: table id -> the paper's row
key, or null when the paper has no such row). The base variant (the one without ``mix``) is the reference row
of every table. Figures are produced only when the variants they need exist; otherwise ``FigurePlan.reason``
says which variants to add.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TABLE_IDS: tuple[str, ...] = ("table3", "table6", "table7", "table9")
BASE_ROW = "Base"
LEVEL_ORDER: tuple[str, ...] = ("high", "mid", "low", "mixed")
SFT_SOURCE = "vqa"


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    label: str
    mix: Mapping[str, float]
    tables: Mapping[str, str | None]
    pairs: int | None = None  # study.variants.<v>.pairs: trained on only this many pairs per task
    untrained: bool = False  # random weights, never trained: the separation table's floor, not a base
    models: tuple[str, ...] | None = None  # study.variants.<v>.models; None: every model

    @property
    def is_base(self) -> bool:
        return not self.mix and not self.untrained

    @property
    def tasks(self) -> tuple[str, ...]:
        """Proxy tasks with a positive weight (every source but the SFT data)."""
        return tuple(sorted(k for k, w in self.mix.items() if k != SFT_SOURCE and w > 0))

    def runs_for(self, model: str) -> bool:
        return self.models is None or model in self.models

    def mix_text(self) -> str:
        return ", ".join(f"{k}:{w:g}" for k, w in self.mix.items()) or "none (base)"


@dataclass(frozen=True, slots=True)
class FigurePlan:
    name: str
    available: bool
    reason: str  # why not, and which variants to add; empty when available
    variants: tuple[str, ...] = ()
    points: Mapping[str, Any] = field(default_factory=dict)  # figure-specific: x values, groups


def variants_from_config(study: Mapping[str, Any]) -> dict[str, Variant]:
    """Typed variants from ``config['study']['variants']``, in config order."""
    out = {}
    for name, spec in study.get("variants", {}).items():
        spec = spec or {}
        out[name] = Variant(
            name=name,
            label=spec.get("label", name),
            mix=dict(spec.get("mix", {})),
            tables=dict(spec.get("tables", {})),
            pairs=spec.get("pairs"),
            untrained=bool(spec.get("untrained", False)),
            models=tuple(spec["models"]) if spec.get("models") else None,
        )
        unknown = sorted(set(out[name].tables) - set(TABLE_IDS))
        if unknown:
            raise ValueError(
                f"study.variants.{name}.tables: unknown table {unknown}; known: {list(TABLE_IDS)}"
            )
    return out


def base_variant(variants: Mapping[str, Variant]) -> str | None:
    """The single variant without ``mix``: every delta is taken against it (None: no deltas)."""
    bases = [v.name for v in variants.values() if v.is_base]
    if len(bases) > 1:
        raise ValueError(
            f"study.variants: the report takes gains against one base variant (one without 'mix'), found "
            f"{bases}; give all but one a mix"
        )
    return bases[0] if bases else None


def table_rows(variants: Mapping[str, Variant], table: str) -> list[tuple[str, str | None]]:
    """(variant, paper row key) of one table, base first."""
    base = base_variant(variants)
    rows = [] if base is None else [(base, variants[base].tables.get(table, BASE_ROW))]
    rows += [(v.name, v.tables[table]) for v in variants.values() if table in v.tables and v.name != base]
    return rows


def _single_task(v: Variant) -> str | None:
    return v.tasks[0] if len(v.tasks) == 1 else None


def _level_plan(
    name: str, table: str, variants: Mapping[str, Variant], levels: Mapping[str, str]
) -> FigurePlan:
    rows = [
        v
        for v, _ in table_rows(variants, table)
        if not variants[v].is_base and _single_task(variants[v]) in levels
    ]
    present = {levels[_single_task(variants[v])] for v in rows}
    if len(rows) < 2 or len(present) < 2:
        return FigurePlan(
            name,
            False,
            f"needs variants with one proxy task each, from at least two levels (high/mid/low), tagged "
            f"'tables: {{{table}: <paper row>}}'; this config has {len(rows)} such variant(s) "
            f"({', '.join(rows) or 'none'}) on level(s) {sorted(present) or 'none'}. Add e.g. "
            f"'edge: {{mix: {{edge: 1}}, tables: {{{table}: +Edge}}}}' next to a segmentation variant.",
        )
    by_level = {lv: [v for v in rows if levels[_single_task(variants[v])] == lv] for lv in LEVEL_ORDER}
    return FigurePlan(name, True, "", tuple(rows), {"levels": {k: v for k, v in by_level.items() if v}})


def ratio_sweeps(variants: Mapping[str, Variant]) -> dict[str, list[tuple[float, str]]]:
    """Per task: (task:SFT ratio, variant) for variants mixing only SFT data and that task; SFT-only is 0.

    Only variants trained on all pairs count: a cut data size (``pairs``) belongs to the size sweep."""
    sft_only = [v.name for v in variants.values() if v.mix and not v.tasks and v.mix.get(SFT_SOURCE, 0) > 0]
    sweeps: dict[str, list[tuple[float, str]]] = {}
    for v in variants.values():
        task = _single_task(v)
        if task is None or v.pairs is not None:
            continue
        if v.mix.get(SFT_SOURCE, 0) <= 0 or set(v.mix) - {task, SFT_SOURCE}:
            continue
        sweeps.setdefault(task, []).append((v.mix[task] / v.mix[SFT_SOURCE], v.name))
    for pts in sweeps.values():
        pts.extend((0.0, s) for s in sft_only)
        pts.sort()
    return sweeps


def _fig5a(variants: Mapping[str, Variant], levels: Mapping[str, str], full_pairs: int | None) -> FigurePlan:
    sweeps = {t: p for t, p in ratio_sweeps(variants).items() if len({r for r, _ in p}) >= 3}
    if not sweeps:
        have = {t: [r for r, _ in p] for t, p in ratio_sweeps(variants).items()}
        return FigurePlan(
            "fig5a",
            False,
            "needs at least three task:SFT ratios of one task (variants that differ only in the ratio, the "
            f"SFT-only variant counting as 0); this config has {have or 'no SFT+task variant'}. Add e.g. "
            "'sft_semantic_1to1: {mix: {vqa: 1, semantic: 1}}' and "
            "'sft_semantic_4to1: {mix: {vqa: 1, semantic: 4}}'.",
        )
    names = tuple(sorted({v for p in sweeps.values() for _, v in p}))
    return FigurePlan("fig5a", True, "", names, {"sweeps": sweeps})


def size_sweeps(variants: Mapping[str, Variant], full_pairs: int | None) -> list[dict[str, int]]:
    """Groups of variants with the same mix that differ only in their pair count: {variant: pairs}.

    A variant without ``pairs`` trains on all ``full_pairs`` (targets.n_per_task) pairs of each task."""
    groups: dict[tuple[tuple[str, float], ...], dict[str, int]] = {}
    for v in variants.values():
        size = v.pairs if v.pairs is not None else full_pairs
        if v.is_base or not v.tasks or size is None:
            continue
        groups.setdefault(tuple(sorted(v.mix.items())), {})[v.name] = size
    return [g for g in groups.values() if len(set(g.values())) >= 2]


def _fig5b(variants: Mapping[str, Variant], levels: Mapping[str, str], full_pairs: int | None) -> FigurePlan:
    sweeps = size_sweeps(variants, full_pairs)
    if not sweeps:
        return FigurePlan(
            "fig5b",
            False,
            "needs at least two variants that differ only in their number of proxy-task pairs (the paper's "
            "2k..100k). Add e.g. 'sft_semantic_small: {mix: {vqa: 1, semantic: 2}, pairs: 100}' beside "
            "sft_semantic (which trains on all targets.n_per_task pairs).",
        )
    sizes = max(sweeps, key=lambda g: len(set(g.values())))  # the longest sweep
    return FigurePlan("fig5b", True, "", tuple(sorted(sizes, key=sizes.get)), {"sizes": sizes})


def _fig6(variants: Mapping[str, Variant], levels: Mapping[str, str], full_pairs: int | None) -> FigurePlan:
    """The paper's pair is SFT alone against SFT + segmentation at 1:2: among the tasks with both ratios, the
    highest-level one (segmentation before depth before edges), config order within a level."""
    rank = {lv: i for i, lv in enumerate(LEVEL_ORDER)}
    sweeps = ratio_sweeps(variants)
    order = sorted(sweeps, key=lambda t: rank.get(levels.get(t, ""), len(rank)))
    for task, pts in ((t, sweeps[t]) for t in order):
        by_ratio = {r: v for r, v in pts}
        if 0.0 in by_ratio and 2.0 in by_ratio:
            pair = (by_ratio[0.0], by_ratio[2.0])
            return FigurePlan(
                "fig6", True, "", pair, {"task": task, "ratios": {pair[0]: "1:0", pair[1]: "2:1"}}
            )
    return FigurePlan(
        "fig6",
        False,
        "needs an SFT-only variant (mix {vqa: w}) and a variant with twice as many task pairs as SFT "
        "samples (mix {vqa: 1, semantic: 2}); add the missing one.",
    )


FigureRule = Callable[[Mapping[str, Variant], Mapping[str, str], int | None], FigurePlan]
FIGURES: dict[str, FigureRule] = {
    "fig3a": lambda v, lv, _: _level_plan("fig3a", "table6", v, lv),
    "fig3b": lambda v, lv, _: _level_plan("fig3b", "table7", v, lv),
    "fig5a": _fig5a,
    "fig5b": _fig5b,
    "fig6": _fig6,
}


def figure_plans(
    study: Mapping[str, Any], levels: Mapping[str, str], full_pairs: int | None = None
) -> dict[str, FigurePlan]:
    """Every figure of the report with whether this config can make it; ``levels``: task -> level.

    ``full_pairs``: the pairs per task of a variant without ``pairs`` (targets.n_per_task)."""
    variants = variants_from_config(study)
    if base_variant(variants) is None:
        why = "needs a base variant (one without 'mix', e.g. 'base: {label: Base}') to take gains against"
        return {name: FigurePlan(name, False, why) for name in FIGURES}
    return {name: rule(variants, levels, full_pairs) for name, rule in FIGURES.items()}
