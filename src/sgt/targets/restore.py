"""Restoration proxy tasks (low level, appendix 7.1/7.2): the degraded image is the condition, the clean one
the target, and the values drawn for the degradation go into ``drawn`` (and so the shard's ``params``).

The paper fixes: de-raining vs de-hazing with equal probability; denoising vs deblurring vs low-light
picked at random; noise = Gaussian / JPEG / salt-and-pepper / Poisson with random probabilities in random
order; motion blur angle U[0, 360) and kernel 10/20/30; low light = brightness x U(0.1, 0.5) plus noise of
U(0.01, 0.04).
Everything else (rain and haze strengths, noise levels) is our choice, in the ranges common in the restoration
literature, and overridable from config.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from sgt.data.records import Image, Sample
from sgt.targets import degrade
from sgt.targets.registry import register

NOISE_OPS = ("gaussian", "jpeg", "salt_pepper", "poisson")
RESTORE_MODES = ("denoise", "deblur", "low_light")


def _uniform(rng: np.random.Generator, bounds: Sequence[float]) -> float:
    return float(rng.uniform(float(bounds[0]), float(bounds[1])))


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


@register("derain_dehaze", level="low", needs=("depth",))
def derain_dehaze(
    sample: Sample,
    rng: np.random.Generator,
    *,
    p_rain: float = 0.5,
    rain_density: Sequence[float] = (0.002, 0.01),
    rain_length: Sequence[int] = (10, 40),
    rain_angle: Sequence[float] = (-20.0, 20.0),
    rain_intensity: Sequence[float] = (0.5, 0.9),
    haze_beta: Sequence[float] = (0.8, 2.8),
    haze_airlight: Sequence[float] = (0.7, 1.0),
) -> tuple[Image, Image, dict[str, Any]]:
    """Rain streaks (probability ``p_rain``) or haze by I = J t + A (1 - t), t = exp(-beta d).

    ``d`` is the sample's depth scaled to (0, 1] when it has one (``degrade.relative_depth``, which reads
    ``sample.depth_space``), else a vertical gradient (far at the top, near at the bottom);
    ``drawn["depth_source"]`` says which. In the workflow the sample's depth is the depth target
    estimator's map (Depth Anything V2 disparity on COCO; on the toy world the configured stand-in), never
    the toy world's exact depth, so toy world and COCO run the same recipe.
    """
    h, w = sample.height, sample.width
    if rng.random() < p_rain:
        density, angle = _uniform(rng, rain_density), _uniform(rng, rain_angle)
        length = int(rng.integers(int(rain_length[0]), int(rain_length[1]) + 1))
        intensity = _uniform(rng, rain_intensity)
        layer = degrade.rain_layer(rng, h, w, density, length, angle)
        drawn: dict[str, Any] = {
            "kind": "rain",
            "density": density,
            "length": length,
            "angle": angle,
            "intensity": intensity,
        }
        return degrade.add_rain(sample.image, layer, intensity), sample.image, drawn
    beta, airlight = _uniform(rng, haze_beta), _uniform(rng, haze_airlight)
    depth, source = degrade.pseudo_depth(h, w), "vertical_gradient"
    if sample.depth is not None and sample.depth.shape == (h, w):
        try:
            depth, source = degrade.relative_depth(sample.depth, sample.depth_space), sample.depth_space
        except ValueError:  # a constant or empty map has no depth order: keep the gradient (recorded)
            pass
    drawn = {"kind": "haze", "beta": beta, "airlight": airlight, "depth_source": source}
    return degrade.haze(sample.image, depth, beta, airlight), sample.image, drawn


def noise_chain(
    image: Image,
    rng: np.random.Generator,
    probs: dict[str, float],
    gaussian_sigma: Sequence[float],
    jpeg_quality: Sequence[int],
    salt_pepper_amount: Sequence[float],
    poisson_peak: Sequence[float],
) -> tuple[Image, list[dict[str, Any]]]:
    """Each noise kind joins with its probability; the chosen ones run in a random order (at least one runs,
    so the condition is never clean). Returns the noisy image and the ops as applied."""
    chosen = [op for op in NOISE_OPS if rng.random() < probs[op]]
    if not chosen:
        chosen = [_pick(rng, NOISE_OPS)]
    ops: list[dict[str, Any]] = []
    for k in rng.permutation(len(chosen)):
        op = chosen[int(k)]
        if op == "gaussian":
            sigma = _uniform(rng, gaussian_sigma)
            image, step = degrade.gaussian_noise(image, rng, sigma), {"op": op, "sigma": sigma}
        elif op == "jpeg":
            quality = int(rng.integers(int(jpeg_quality[0]), int(jpeg_quality[1]) + 1))
            image, step = degrade.jpeg(image, quality), {"op": op, "quality": quality}
        elif op == "salt_pepper":
            amount = _uniform(rng, salt_pepper_amount)
            image, step = degrade.salt_pepper(image, rng, amount), {"op": op, "amount": amount}
        else:
            peak = _uniform(rng, poisson_peak)
            image, step = degrade.poisson_noise(image, rng, peak), {"op": op, "peak": peak}
        ops.append(step)
    return image, ops


@register("denoise_deblur_enhance", level="low")
def denoise_deblur_enhance(
    sample: Sample,
    rng: np.random.Generator,
    *,
    modes: Sequence[str] = RESTORE_MODES,
    p_gaussian: float = 0.5,
    p_jpeg: float = 0.5,
    p_salt_pepper: float = 0.5,
    p_poisson: float = 0.5,
    gaussian_sigma: Sequence[float] = (1.0, 30.0),
    jpeg_quality: Sequence[int] = (30, 95),
    salt_pepper_amount: Sequence[float] = (0.001, 0.02),
    poisson_peak: Sequence[float] = (20.0, 200.0),
    blur_kernel_sizes: Sequence[int] = (10, 20, 30),
    blur_angle: Sequence[float] = (0.0, 360.0),
    brightness: Sequence[float] = (0.1, 0.5),
    low_light_noise: Sequence[float] = (0.01, 0.04),
) -> tuple[Image, Image, dict[str, Any]]:
    """One restoration drawn uniformly from ``modes``: noise chain, motion blur, or low light."""
    unknown = sorted(set(modes) - set(RESTORE_MODES))
    if unknown or not modes:
        raise ValueError(
            f"targets.tasks.denoise_deblur_enhance.modes: {list(modes)}; choose from {RESTORE_MODES}"
        )
    mode = str(_pick(rng, list(modes)))
    image = sample.image
    if mode == "denoise":
        probs = {"gaussian": p_gaussian, "jpeg": p_jpeg, "salt_pepper": p_salt_pepper, "poisson": p_poisson}
        cond, ops = noise_chain(
            image, rng, probs, gaussian_sigma, jpeg_quality, salt_pepper_amount, poisson_peak
        )
        return cond, image, {"kind": mode, "ops": ops}
    if mode == "deblur":
        size = int(_pick(rng, list(blur_kernel_sizes)))
        angle = _uniform(rng, blur_angle)
        return (
            degrade.motion_blur(image, size, angle),
            image,
            {"kind": mode, "kernel_size": size, "angle": angle},
        )
    factor, sigma = _uniform(rng, brightness), _uniform(rng, low_light_noise)
    cond = degrade.low_light(image, rng, factor, sigma)
    return cond, image, {"kind": mode, "brightness": factor, "noise_sigma": sigma}
