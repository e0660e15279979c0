"""sgt.io: YAML files read by our code name the file and line of a syntax error (issue #21 finding 8)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sgt.config import validate_config
from sgt.report.reference import load_benchmark_map


@pytest.mark.parametrize(
    "load",
    [lambda p: validate_config({}, p), load_benchmark_map],
    ids=["config schema", "benchmark map"],
)
def test_yaml_syntax_errors_name_the_file_and_line(tmp_path: Path, load) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("a: 1\nb:\n  - x\n - y\n")  # the last item is indented less than its list
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}:4:2: not valid YAML: .*fix the file"):
        load(path)
