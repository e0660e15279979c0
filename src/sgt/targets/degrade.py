"""Image degradations for the restoration tasks: each is a pure function of the image and its drawn values,
so a test (or a reader of a shard's ``params``) can recompute a condition from the recorded numbers.

All work on uint8 RGB and return uint8 RGB; intermediate maths is float32 in [0, 1].
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from sgt.data.records import Image

FloatImage = npt.NDArray[np.float32]


def to_float(image: Image) -> FloatImage:
    return image.astype(np.float32) * np.float32(1 / 255)


def to_uint8(image: FloatImage) -> Image:
    return np.clip(image * 255.0 + 0.5, 0, 255).astype(np.uint8)


# --- haze and rain ---


def pseudo_depth(h: int, w: int) -> FloatImage:
    """Fallback relative depth when a sample has none: far (1) at the top row to near (0.1) at the bottom,
    the usual layout of a ground-level photo (sky and horizon above, ground below)."""
    col = np.linspace(1.0, 0.1, h, dtype=np.float32)[:, None]
    return np.ascontiguousarray(np.broadcast_to(col, (h, w)))


def relative_depth(depth: npt.NDArray[np.float32], space: str = "depth") -> FloatImage:
    """Depth scaled to (0, 1] by its maximum, so one ``beta`` range suits metric and relative depth alike.

    A ``disparity`` map (Depth Anything V2: larger is nearer, known only up to scale and shift, so ``1 / x``
    is undefined) becomes ``1 - minmax(disparity)`` over [0.1, 1]: nearest 0.1, farthest 1, like
    ``pseudo_depth``.
    """
    if space == "disparity":
        v = np.asarray(depth, np.float32)
        finite = np.isfinite(v)
        lo = float(v[finite].min()) if finite.any() else 0.0
        hi = float(v[finite].max()) if finite.any() else 0.0
        if hi <= lo:
            raise ValueError("disparity map is constant or has no finite value")
        near = np.where(finite, (v - lo) / (hi - lo), 0.0)  # 1 nearest, 0 farthest (and undefined pixels)
        return (1.0 - 0.9 * near).astype(np.float32)
    if space != "depth":
        raise ValueError(f"unknown depth space {space!r}; use 'depth' or 'disparity'")
    d = np.nan_to_num(depth.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
    top = float(d.max())
    if top <= 0:
        raise ValueError("depth map has no positive value")
    return np.clip(d / top, 0.0, 1.0)


def haze(image: Image, depth: FloatImage, beta: float, airlight: float) -> Image:
    """Atmospheric scattering model: I = J t + A (1 - t), t = exp(-beta d), with d the relative depth."""
    t = np.exp(-np.float32(beta) * depth)[..., None]
    return to_uint8(to_float(image) * t + np.float32(airlight) * (1.0 - t))


def motion_kernel(size: int, angle: float) -> npt.NDArray[np.float32]:
    """A ``size`` x ``size`` line kernel through the centre at ``angle`` degrees (counter-clockwise from the
    x axis), summing to 1: a straight camera or object motion of ``size`` pixels."""
    k = np.zeros((size, size), np.float32)
    k[(size - 1) // 2, :] = 1.0
    centre = ((size - 1) / 2.0, (size - 1) / 2.0)
    rot = cv2.getRotationMatrix2D(centre, angle, 1.0)
    k = cv2.warpAffine(k, rot, (size, size), flags=cv2.INTER_LINEAR)
    total = float(k.sum())
    if total <= 0:  # pragma: no cover - a centred line always keeps mass
        raise ValueError(f"empty motion kernel (size {size}, angle {angle})")
    return k / np.float32(total)


def motion_blur(image: Image, size: int, angle: float) -> Image:
    return cv2.filter2D(image, -1, motion_kernel(size, angle), borderType=cv2.BORDER_REFLECT)


def rain_layer(
    rng: np.random.Generator, h: int, w: int, density: float, length: int, angle: float
) -> FloatImage:
    """Rain streaks: random drops (``density`` of the pixels) smeared along ``angle`` degrees from vertical
    into ``length``-pixel streaks, scaled so the brightest streak is 1."""
    drops = np.zeros((h, w), np.float32)
    where = rng.random((h, w), dtype=np.float32) < density
    drops[where] = rng.uniform(0.5, 1.0, size=int(where.sum()))
    streaks = cv2.filter2D(drops, -1, motion_kernel(length, 90.0 + angle), borderType=cv2.BORDER_CONSTANT)
    top = float(streaks.max())
    return streaks / np.float32(top) if top > 0 else streaks


def add_rain(image: Image, layer: FloatImage, intensity: float) -> Image:
    """Screen-blend the streak layer: bright streaks lighten the scene without clipping it to white."""
    s = (np.float32(intensity) * layer)[..., None]
    return to_uint8(1.0 - (1.0 - to_float(image)) * (1.0 - s))


# --- noise and compression ---


def gaussian_noise(image: Image, rng: np.random.Generator, sigma: float) -> Image:
    """Additive white Gaussian noise, ``sigma`` in 0-255 grey levels."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    noise *= np.float32(sigma)
    noise += image
    noise += np.float32(0.5)
    return np.clip(noise, 0, 255).astype(np.uint8)


POISSON_EXACT_BELOW = 16.0  # photon counts below this are drawn exactly; above, N(lam, lam) is as good


def poisson_noise(image: Image, rng: np.random.Generator, peak: float) -> Image:
    """Shot noise: pixel values as photon counts, ``peak`` photons at white (fewer photons, more noise).

    Counts of 16 and more use the normal approximation N(lam, lam) (float32, several times faster than
    numpy's exact sampler on a 640x480 image); darker pixels, where the count's skew shows, are exact.
    """
    lam = to_float(image) * np.float32(peak)
    counts = rng.standard_normal(lam.shape, dtype=np.float32)
    counts *= np.sqrt(lam)
    counts += lam
    dark = lam < POISSON_EXACT_BELOW
    counts[dark] = rng.poisson(lam[dark])
    return to_uint8(counts / np.float32(peak))


def salt_pepper(image: Image, rng: np.random.Generator, amount: float) -> Image:
    """``amount`` of the pixels set to black or white (half each), all channels together."""
    out = image.copy()
    u = rng.random(image.shape[:2], dtype=np.float32)
    out[u < amount / 2] = 0
    out[(u >= amount / 2) & (u < amount)] = 255
    return out


def jpeg(image: Image, quality: int) -> Image:
    """JPEG compression artefacts: encode at ``quality`` and decode again."""
    ok, buf = cv2.imencode(".jpg", image[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:  # pragma: no cover - OpenCV always encodes uint8 RGB
        raise RuntimeError("JPEG encoding failed")
    return np.ascontiguousarray(cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1])


def low_light(image: Image, rng: np.random.Generator, brightness: float, noise_sigma: float) -> Image:
    """Under-exposure: intensities x ``brightness`` plus Gaussian noise of ``noise_sigma`` (0-1 scale)."""
    noise = rng.standard_normal(image.shape, dtype=np.float32)
    noise *= np.float32(noise_sigma)
    noise += to_float(image) * np.float32(brightness)
    return to_uint8(noise)
