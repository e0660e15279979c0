"""Stand-in for torchvision's image transforms, for CPU preflight nodes where torchvision does not import.

Here the only torchvision wheel for our CPU torch is a CUDA build that fails on import. Upstream data loaders
use a handful of PIL transforms (resize, to_tensor, normalize, crop); this package gives those, following
torchvision's semantics for PIL images (PIL's own resampling, channels-first float in [0, 1]). A preflight
report names this stand-in whenever it was used.
"""

__version__ = "0.0.0+sgt-stand-in"

from torchvision import io, transforms  # noqa: E402

__all__ = ["io", "transforms"]
