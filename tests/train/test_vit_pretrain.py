"""The ViT's task-neutral pretraining: image-level labels only, seeded batches, mirror-invariant labels."""

from __future__ import annotations

import pytest
import torch

from sgt.data.toyworld import COLORS, THINGS
from sgt.testing.tiny import smallest_model
from sgt.train.vit_pretrain import ViTPretrainConfig, _batch, global_labels, pretrain_vit

SCENES = [
    {
        "objects": [
            {"category": "circle", "color": "red", "area": 40},
            {"category": "square", "color": "blue", "area": 300},
            {"category": "circle", "color": "pink", "area": 90},
        ],
        "upper": "sky",
        "lower": "floor",
    },
    {"objects": [], "upper": "wall", "lower": "grass"},
]


def test_global_labels_name_the_largest_visible_object() -> None:
    labels = global_labels(SCENES)
    shapes, colours = list(THINGS.values()), list(COLORS)
    assert labels.largest_shape.tolist() == [shapes.index("square"), -100]  # -100: no object to name
    assert labels.largest_color.tolist() == [colours.index("blue"), -100]
    assert labels.shapes[0, shapes.index("circle")] == 1 and labels.shapes[1].sum() == 0
    assert labels.count.tolist() == [3, 0]
    assert labels.upper_is_sky.tolist() == [1.0, 0.0] and labels.lower_is_grass.tolist() == [0.0, 1.0]


def test_config_rejects_unknown_keys_and_pools() -> None:
    assert ViTPretrainConfig.from_dict(None) == ViTPretrainConfig()
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['epochs'\]"):
        ViTPretrainConfig.from_dict({"epochs": 3})
    with pytest.raises(ValueError, match="choose mean or max"):
        ViTPretrainConfig.from_dict({"pool": "attention"})


def test_flipped_batches_are_seeded_mirrors() -> None:
    images = torch.rand(10, 3, 8, 8)
    cfg = ViTPretrainConfig(batch_size=16, flip=True)
    idx, x = _batch(images, cfg, seed=3, step=5)
    idx2, x2 = _batch(images, cfg, seed=3, step=5)
    assert torch.equal(idx, idx2) and torch.equal(x, x2)
    mirrored = [bool(torch.equal(x[k], images[idx[k]].flip(-1))) for k in range(16)]
    plain = [bool(torch.equal(x[k], images[idx[k]])) for k in range(16)]
    assert all(m != p for m, p in zip(mirrored, plain, strict=True))
    assert 0 < sum(mirrored) < 16
    _, unflipped = _batch(images, ViTPretrainConfig(batch_size=16), seed=3, step=5)
    assert torch.equal(unflipped, images[idx])


def test_pretraining_is_deterministic_and_learns() -> None:
    images = torch.rand(6, 3, 16, 16)
    scenes = (SCENES * 3)[:6]
    cfg = ViTPretrainConfig(steps=30, batch_size=6, lr=3e-3, flip=True, largest=True)

    def run() -> tuple[list[float], dict[str, torch.Tensor]]:
        torch.manual_seed(0)
        vit = smallest_model(0).vit
        return pretrain_vit(vit, images, global_labels(scenes), cfg, seed=1), vit.state_dict()

    (losses, weights), (again, weights2) = run(), run()
    assert losses == again and all(torch.equal(weights[k], weights2[k]) for k in weights)
    assert all(torch.isfinite(torch.tensor(losses)))
    assert sum(losses[-5:]) < sum(losses[:5])


def test_pretraining_depends_on_its_seed_not_the_global_random_state() -> None:
    """The throw-away heads draw their weights from the seed: whatever ran before (a model built in
    another order, another test) must not change the ViT this stage produces."""
    images = torch.rand(4, 3, 16, 16)
    cfg = ViTPretrainConfig(steps=3, batch_size=4)

    def run(global_seed: int) -> dict[str, torch.Tensor]:
        vit = smallest_model(0).vit
        torch.manual_seed(global_seed)
        pretrain_vit(vit, images, global_labels((SCENES * 2)[:4]), cfg, seed=1)
        return vit.state_dict()

    first, second = run(0), run(123)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert torch.random.initial_seed() == 123  # the stage leaves the caller's stream where it was seeded
