"""The backend registry builds backends from config options and names bad ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.models.backends import BACKENDS, get_backend


def test_registry_builds_each_backend(tmp_path):
    assert set(BACKENDS) == {"bagel", "omnigen2", "tiny"}
    bagel = get_backend("bagel", checkout=str(tmp_path), model_path=str(tmp_path / "m"), gpus=8)
    assert bagel.name == "bagel" and isinstance(bagel.model_path, Path)
    paths = {k: str(tmp_path) for k in ("checkout", "model_path", "vae_path", "text_encoder_path")}
    assert get_backend("omnigen2", **paths).name == "omnigen2"
    tiny = get_backend("tiny", base=str(tmp_path))  # named by its import path: it lives in sgt.train
    assert tiny.name == "tiny" and type(tiny).__module__ == "sgt.train.tiny_backend"
    assert all(BACKENDS[name].name == name for name in BACKENDS)


def test_registry_names_bad_config(tmp_path):
    with pytest.raises(KeyError, match="unknown backend 'bagle'"):
        get_backend("bagle")
    with pytest.raises(ValueError, match="backend 'bagel': bad options"):
        get_backend("bagel", checkout=str(tmp_path), model_path=str(tmp_path), gpu=8)
