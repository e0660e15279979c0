from types import SimpleNamespace


def load_ae(local_path):
    return None, SimpleNamespace(downsample=8)
