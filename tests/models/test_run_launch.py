"""``run_launch``: what a launched upstream program sees of our environment."""

from __future__ import annotations

import json
import logging
import sys

from sgt.models.backend_interface import Launch
from sgt.models.backends import DISTRIBUTED_ENV, run_launch

PRINT_ENV = "import json, os; print('ENV=' + json.dumps(dict(os.environ)))"


def test_a_launch_gets_no_inherited_rendezvous_but_keeps_its_own_env(tmp_path, monkeypatch, caplog):
    """A parent that trained in-process (the deepspeed engine sets MASTER_PORT and holds that port) must not
    make the launched program join its process group: it failed with EADDRINUSE before."""
    for key in DISTRIBUTED_ENV:
        monkeypatch.setenv(key, "7")
    monkeypatch.setenv("SGT_KEPT", "yes")
    launch = Launch((sys.executable, "-c", PRINT_ENV), {"MASTER_PORT": "29999", "OWN": "1"}, cwd=tmp_path)
    with caplog.at_level(logging.INFO, logger="sgt.launch"):
        run_launch(launch, tmp_path / "launch.log")
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("ENV="))
    env = json.loads(line.removeprefix("ENV="))
    assert not (DISTRIBUTED_ENV - {"MASTER_PORT"}) & set(env), sorted(DISTRIBUTED_ENV & set(env))
    assert env["MASTER_PORT"] == "29999" and env["OWN"] == "1" and env["SGT_KEPT"] == "yes"
