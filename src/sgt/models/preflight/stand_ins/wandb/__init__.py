"""Stand-in for wandb so upstream trainers import on a preflight node; every call does nothing."""

__version__ = "0.0.0+sgt-stand-in"


class _Settings:
    def __init__(self, *args, **kwargs):
        pass


class _Config(dict):
    def update(self, *args, **kwargs):  # accepts dataclasses too, like wandb.config.update
        return None


Settings = _Settings
config = _Config()


def init(*args, **kwargs):
    return None


def log(*args, **kwargs):
    return None


def finish(*args, **kwargs):
    return None
