"""``probe_session``: several probe passes in one process, with run_probe's errors when the probe dies."""

from __future__ import annotations

from pathlib import Path

import pytest

from sgt.models.preflight import ProbeError
from sgt.models.preflight.common import SERVE_DONE, probe_session

# a probe in the serving protocol: one JSON request a stdin line, SERVE_DONE after writing its JSON
PROBE = f'''
import json, sys
assert sys.argv[1:] == ["--answer", "42", "--serve"], sys.argv
passes = 0
while line := sys.stdin.readline():
    request = json.loads(line)
    passes += 1
    print("upstream chatter", passes, flush=True)
    if request.get("crash"):
        raise SystemExit("upstream loader broke on " + request["crash"])
    with open(request["out"], "w") as fh:
        json.dump({{"pass": passes, "flags": request["flags"]}}, fh)
    print("{SERVE_DONE}", request["out"], flush=True)
'''


def test_passes_share_one_process_and_a_dead_probe_raises_with_its_last_lines(tmp_path: Path) -> None:
    (tmp_path / "toy_probe.py").write_text(PROBE)
    log = tmp_path / "probe.log"
    with probe_session("toy_probe", ["--answer", "42"], checkout=tmp_path, log=log) as (session, _):
        assert session.run({"flags": "a.json"}) == {"pass": 1, "flags": "a.json"}
        assert session.run({"flags": "b.json"}) == {"pass": 2, "flags": "b.json"}  # the same process
        with pytest.raises(ProbeError, match=r"(?s)exit 1.*upstream loader broke on c\.json"):
            session.run({"flags": "c.json", "crash": "c.json"})
    assert log.read_text().splitlines()[:2] == ["upstream chatter 1", "upstream chatter 2"]
