"""Preflight: the pinned upstream code's own data loaders, run on our export before a GPU job starts.

Reading upstream and re-implementing its checks proved unreliable (a YAML value that crashed ``train.py``, a
packed batch 28 % too large), so each cluster backend runs the checkout's loaders in a subprocess on a CPU
node (:func:`run_probe`), collects what they produced, and judges it against the recipe as :class:`Finding` s.
A broken invariant stops the workflow before ``train`` with the upstream file it is about.
"""

from __future__ import annotations

from sgt.models.preflight.common import (
    Finding,
    PreflightError,
    PreflightResult,
    ProbeError,
    judge,
    read_report,
    run_probe,
    within,
    write_report,
)

__all__ = [
    "Finding",
    "PreflightError",
    "PreflightResult",
    "ProbeError",
    "judge",
    "read_report",
    "run_probe",
    "within",
    "write_report",
]
