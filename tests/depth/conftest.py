from pathlib import Path

import pytest

from sgt.data.toyworld import ToyWorldSpec, write_toyworld


@pytest.fixture(scope="session")
def toy_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small toy world shared by the depth tests (rendering costs about a second per image)."""
    return write_toyworld(ToyWorldSpec(n_train=10, n_val=0, seed=3), tmp_path_factory.mktemp("toy") / "toy")
