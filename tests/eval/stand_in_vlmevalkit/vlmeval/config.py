"""Stand-in of ``vlmeval.config``: the name -> partial table run.py uses when a model entry has no class."""

from __future__ import annotations

from functools import partial

from vlmeval import vlm

supported_VLM = {"BAGEL-7B-MoT": partial(vlm.Bagel, model_path="ByteDance-Seed/BAGEL-7B-MoT")}
