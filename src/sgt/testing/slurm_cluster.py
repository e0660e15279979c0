"""A throw-away one-node SLURM cluster on this machine, to test the SLURM profile against real daemons.

Everything (munge key and socket, slurm.conf, gres.conf, state, spool, logs, dummy GPU device files) lives
in one state folder; ports are random free ones, so the cluster touches no system service or config and
several can run side by side. Needs root (slurmd launches jobs as their owner) and Debian's ``slurm-wlm``
and ``munge`` packages, which :func:`ensure_slurm` installs with apt when allowed. Recipe and pitfalls:
docs/slurm.md ("Testing against a real SLURM").

Command line (for trying the profile by hand)::

    python -m sgt.testing.slurm_cluster start /tmp/slurm-state   # prints `. /tmp/slurm-state/env.sh`
    python -m sgt.testing.slurm_cluster stop /tmp/slurm-state
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from sgt.io import pid_alive

logger = logging.getLogger(__name__)

BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")
APT_PACKAGES = ("slurm-wlm", "munge")
CPU_PARTITION = "cpu"
GPU_PARTITION = "gpu"
_NVIDIA_MAJOR = 195  # character-device major of /dev/nvidiaN; slurmd only needs the file to exist


def missing_binaries() -> list[str]:
    """SLURM and munge programs that are not on PATH."""
    return [b for b in BINARIES if shutil.which(b) is None]


def ensure_slurm(*, install: bool = True, timeout: float = 420) -> str | None:
    """Make the SLURM daemons and clients available; return None when ready, else why not (a skip reason).

    Installs ``slurm-wlm`` and ``munge`` with apt-get when they are missing, we are root and ``install``
    is true; runs ``apt-get update`` only when the first install fails (stale package lists).
    """
    if os.geteuid() != 0:
        return "a one-node SLURM cluster needs root (slurmd launches jobs as their owner)"
    missing = missing_binaries()
    if not missing:
        return None
    if not install:
        return f"SLURM programs missing ({', '.join(missing)}) and installing them is turned off"
    if shutil.which("apt-get") is None:
        return f"SLURM programs missing ({', '.join(missing)}) and apt-get is not available to install them"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends"]
    cmd += ["-o", "DPkg::Lock::Timeout=120", *APT_PACKAGES]
    deadline = time.monotonic() + timeout
    for attempt in ("install", "update+install"):
        if attempt == "update+install":
            logger.info("apt-get install failed; running apt-get update first")
            _run_quiet(["apt-get", "update", "-q"], env, deadline - time.monotonic())
        logger.info("installing %s with apt-get (about 1-2 minutes)", " ".join(APT_PACKAGES))
        result = _run_quiet(cmd, env, deadline - time.monotonic())
        if result is not None and result.returncode == 0 and not missing_binaries():
            return None
    tail = (result.stdout or "")[-400:] if result is not None else "timed out"
    return f"could not install {' '.join(APT_PACKAGES)} with apt-get: {tail.strip()}"


def _run_quiet(cmd: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess | None:
    """Run ``cmd`` with output captured; None when it ran out of time."""
    try:
        return subprocess.run(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=max(timeout, 1)
        )
    except subprocess.TimeoutExpired:
        return None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SlurmCluster:
    """Handle on a running one-node cluster: its state folder, client environment and daemon PIDs."""

    state: Path
    env: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)

    @property
    def log_dir(self) -> Path:
        return self.state / "log"

    def run(self, *args: str, check: bool = True, timeout: float = 30) -> str:
        """Run a SLURM client (``squeue``, ``scontrol``...) against this cluster; return its stdout."""
        out = subprocess.run(list(args), env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def jobs(self) -> list[dict[str, str]]:
        """Every job slurmctld still remembers (MinJobAge=3600 s), finished ones included."""
        fields = (
            "JobID",
            "Partition",
            "Account",
            "State",
            "Comment",
            "MinMemory",
            "NumCPUs",
            "tres-per-job",
            "TimeLimit",
        )
        fmt = ",".join(f"{f}:|" for f in fields)
        text = self.run("squeue", "--states=all", "--noheader", "-O", fmt)
        rows = []
        for line in text.splitlines():
            values = [v.strip() for v in line.split("|")[: len(fields)]]
            if len(values) == len(fields):
                rows.append(dict(zip(fields, values, strict=True)))
        return rows

    def logs_tail(self, lines: int = 30) -> str:
        """The end of every daemon log, for failure messages."""
        parts = []
        for path in sorted(self.log_dir.glob("*")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"==> {path.name} <==\n" + "\n".join(text))
        return "\n".join(parts)

    def stop(self, *, remove: bool = True) -> None:
        """Cancel jobs, stop the daemons and leftover job processes, then remove the state folder."""
        stop_cluster(self.state, remove=remove)


def _write_config(state: Path, *, host: str, cpus: int, gpus: int, mem_mb: int) -> None:
    ctld_port, slurmd_port = free_port(), free_port()
    while slurmd_port == ctld_port:
        slurmd_port = free_port()
    gres = f" Gres=gpu:{gpus}" if gpus else ""
    conf = f"""\
# Written by sgt.testing.slurm_cluster; every path and port belongs to this test cluster only.
ClusterName=sgttest
SlurmctldHost={host}(127.0.0.1)
AuthInfo=socket={state}/munge/munge.sock
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/log/slurmctld.log
SlurmdLogFile={state}/log/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
DefMemPerCPU=256
MinJobAge=3600
MailProg=/bin/true
# trust the CPU count below even when it exceeds the machine's, so independent test jobs overlap
SlurmdParameters=config_overrides
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb}{gres} State=UNKNOWN
PartitionName={CPU_PARTITION} Nodes={host} Default=YES MaxTime=INFINITE State=UP
PartitionName={GPU_PARTITION} Nodes={host} MaxTime=INFINITE State=UP
"""
    (state / "slurm.conf").write_text(conf)
    lines = [f"NodeName={host} Name=gpu File={state}/dev/nvidia{i}" for i in range(gpus)]
    (state / "gres.conf").write_text("\n".join(lines) + "\n")


def _machine_mem_mb() -> int:
    """Total memory minus 1 GiB: RealMemory above what slurmd measures leaves the node 'inval'."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return max(int(line.split()[1]) // 1024 - 1024, 512)
    raise RuntimeError("/proc/meminfo has no MemTotal line")


def _make_device(path: Path, minor: int) -> None:
    try:
        os.mknod(path, 0o666 | 0o020000, os.makedev(_NVIDIA_MAJOR, minor))
    except PermissionError:
        path.touch()


def _spawn(name: str, cmd: list[str], state: Path, env: dict[str, str]) -> int:
    out = open(state / "log" / f"{name}.out", "wb")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    out.close()
    with open(state / "pids", "a") as f:
        f.write(f"{name} {proc.pid}\n")
    return proc.pid


def _wait_for(predicate, timeout: float, what: str, cluster: SlurmCluster) -> None:
    """Poll ``predicate``; fail early, with the daemon logs, when a daemon died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        dead = [name for name, pid in cluster.pids.items() if not _alive(pid)]
        if dead:
            raise RuntimeError(f"test SLURM cluster: {', '.join(dead)} exited\n{cluster.logs_tail()}")
        time.sleep(0.3)
    raise RuntimeError(f"test SLURM cluster: timed out waiting for {what}\n{cluster.logs_tail()}")


def _check_traversable(state: Path) -> None:
    """munged refuses a socket below a folder that others cannot enter (pytest's tmp_path is 0700)."""
    for folder in state.parents:
        if not folder.stat().st_mode & 0o001:
            raise RuntimeError(
                f"test SLURM cluster: {folder} is not executable for all, so munged would refuse its socket "
                f"under {state}; use a state folder from tempfile.mkdtemp() or chmod o+x {folder}"
            )


def start_cluster(state: Path, *, gpus: int = 2, cpus: int = 4, timeout: float = 60) -> SlurmCluster:
    """Start munged, slurmctld and slurmd with config and state under ``state``; wait until the node is idle.

    The node has ``cpus`` CPUs (more than the machine has is fine: test jobs are tiny), ``gpus`` dummy
    GPUs and two partitions, ``cpu`` (default) and ``gpu``. On failure the daemons already started are
    stopped before the error propagates.
    """
    state = Path(state).resolve()
    _check_traversable(state)
    state.mkdir(parents=True, exist_ok=True)
    state.chmod(0o755)  # munged refuses a socket folder the clients cannot traverse (mktemp gives 0700)
    for sub in ("munge", "ctld", "spool", "log", "dev", "bin"):
        (state / sub).mkdir(exist_ok=True)
    (state / "munge").chmod(0o755)
    key = state / "munge" / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o400)
    for i in range(gpus):
        _make_device(state / "dev" / f"nvidia{i}", i)
    host = socket.gethostname().split(".")[0]  # slurmd finds its NodeName by the short host name
    _write_config(state, host=host, cpus=cpus, gpus=gpus, mem_mb=_machine_mem_mb())
    # slurm-jobstep drops SLURM_CONF before its nested `srun`; this wrapper, first on PATH, puts it back.
    srun = state / "bin" / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={state}/slurm.conf exec {shutil.which("srun")} "$@"\n')
    srun.chmod(0o755)
    env = {**os.environ, "SLURM_CONF": str(state / "slurm.conf")}
    env["PATH"] = f"{state / 'bin'}:{env.get('PATH', '')}"
    (state / "env.sh").write_text(f"export SLURM_CONF={state}/slurm.conf\nexport PATH={state}/bin:$PATH\n")
    cluster = SlurmCluster(state=state, env=env)
    try:
        sock = state / "munge" / "munge.sock"
        cluster.pids["munged"] = _spawn(
            "munged",
            ["munged", "-F", f"--key-file={key}", f"--socket={sock}", f"--pid-file={state}/munge/munged.pid",
             f"--seed-file={state}/munge/munged.seed"],
            state,
            env,
        )  # fmt: skip
        _wait_for(sock.exists, timeout, "the munge socket", cluster)
        cluster.pids["slurmctld"] = _spawn("slurmctld", ["slurmctld", "-D", "-i"], state, env)
        cluster.pids["slurmd"] = _spawn("slurmd", ["slurmd", "-D"], state, env)

        def node_idle() -> bool:
            out = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], env=env, capture_output=True, text=True)
            states = out.stdout.split()
            return out.returncode == 0 and bool(states) and all(s == "idle" for s in states)

        _wait_for(node_idle, timeout, "the node to become idle", cluster)
    except BaseException:
        cluster.stop(remove=False)
        raise
    logger.info("test SLURM cluster up in %s (node %s, %d GPUs)", state, host, gpus)
    return cluster


def _alive(pid: int) -> bool:
    if not pid_alive(pid):
        return False
    # a zombie child of ours counts as gone
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def _terminate(pids: list[int], grace: float) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.2)
    for pid in pids:
        if _alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    for pid in pids:  # reap our own children so they do not linger as zombies
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass


def _processes_of(state: Path) -> list[int]:
    """PIDs (not ours) whose environment points at this cluster's slurm.conf: slurmstepd and job processes."""
    marker = f"SLURM_CONF={state}/slurm.conf".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def stop_cluster(state: Path, *, remove: bool = True) -> None:
    """Stop the cluster recorded in ``state/pids`` and everything it launched; safe to call twice."""
    state = Path(state).resolve()
    pids_file = state / "pids"
    if not pids_file.exists():
        if remove:
            shutil.rmtree(state, ignore_errors=True)
        return
    env = {**os.environ, "SLURM_CONF": str(state / "slurm.conf")}
    try:  # cancel every job first, so slurmstepd and job processes end through SLURM itself
        ids = subprocess.run(
            ["squeue", "-h", "-o", "%i"], env=env, capture_output=True, text=True, timeout=10
        )
        if ids.stdout.split():
            subprocess.run(["scancel", *ids.stdout.split()], env=env, capture_output=True, timeout=10)
            time.sleep(1)
    except (OSError, subprocess.TimeoutExpired):
        pass
    daemons = [line.split() for line in pids_file.read_text().splitlines() if line.strip()]
    for _name, pid in reversed(daemons):  # slurmd, slurmctld, then munged
        _terminate([int(pid)], grace=5)
    _terminate(_processes_of(state), grace=3)
    pids_file.unlink()
    if remove:
        shutil.rmtree(state, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """``start STATE`` / ``stop STATE`` for trying the SLURM profile by hand."""
    parser = argparse.ArgumentParser(
        prog="python -m sgt.testing.slurm_cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument("action", choices=("start", "stop"))
    parser.add_argument(
        "state", type=Path, help="folder for config, state and logs (created; removed by stop)"
    )
    parser.add_argument("--gpus", type=int, default=2, help="dummy GPUs on the node (default 2)")
    parser.add_argument("--no-install", action="store_true", help="do not apt-get install missing packages")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    if args.action == "stop":
        stop_cluster(args.state)
        return 0
    reason = ensure_slurm(install=not args.no_install)
    if reason:
        logger.error("%s", reason)
        return 1
    start_cluster(args.state, gpus=args.gpus)
    logger.info("cluster running; use it with:  . %s/env.sh", args.state.resolve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
