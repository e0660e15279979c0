"""Stand-in for flash-attn (a CUDA-only package) so upstream modules import on a CPU preflight node.

Only the names upstream imports exist; calling one is an error, since the preflight never runs a model.
"""

__version__ = "0.0.0+sgt-stand-in"


def flash_attn_varlen_func(*args, **kwargs):
    raise NotImplementedError("flash_attn stand-in (sgt preflight): attention kernels are not available")
