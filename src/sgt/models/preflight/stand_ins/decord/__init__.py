"""Stand-in for decord (video decoding) so upstream's data package imports; our exports hold no video."""

__version__ = "0.0.0+sgt-stand-in"


class VideoReader:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError("decord stand-in (sgt preflight): our exports hold no video")


def cpu(index: int = 0) -> int:
    return index
