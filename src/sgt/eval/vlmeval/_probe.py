"""Run VLMEvalKit's own run.py steps on our argv and ``--config`` JSON, inside VLMEvalKit's interpreter.

This file is executed as a script by ``sgt.eval.vlmeval.conformance`` with the interpreter that has
VLMEvalKit's requirements, the checkout as working directory: ``python _probe.py REQUEST REPORT``.
It therefore imports only the standard library (plus pandas, which VLMEvalKit itself needs, for the stubbed
data table) and never ``sgt``.

It mirrors ``run_local_mode`` of run.py up to the point where a model would load weights or a dataset would
download its TSV: ``parse_args()`` on our argv, the ``--config`` assertions, ``load(args.config)``, then
``build_model_from_config(cfg['model'], name, args.use_vllm)`` and ``build_dataset_from_config(cfg['data'],
name)`` for every entry, and ``get_judge_kwargs(name, dataset.TYPE, args)``. Only three things are replaced,
and the report lists each under ``stubs``:

- the model class's ``__init__``: a recorder that binds our kwargs to the real signature (no weights, no GPU);
- the dataset class's ``load_data``: a one-row table (no TSV download);
- the network: any socket connect raises, so a download nobody stubbed fails loudly instead of hanging;

plus, only where the interpreter lacks them, stand-in modules named in the request (torchvision: its PyPI
wheels are CUDA builds that do not import next to a CPU torch). Problems are collected, not raised, so one
run reports them all; each names the thing and what VLMEvalKit said.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.abc
import importlib.machinery
import inspect
import io
import json
import os
import socket
import sys
import traceback
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

STAND_IN_ROW = "stand-in row: the conformance probe stubbed load_data (no TSV download)"


# ---------------------------------------------------------------- stand-in modules and the network


class _StandInMeta(type):
    """Any attribute of a stand-in class is another stand-in class, so module-level uses import cleanly."""

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _stand_in_class(f"{cls.__qualname__}.{name}")


class _StandIn(metaclass=_StandInMeta):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _stand_in_class(name)


def _stand_in_class(name: str) -> type:
    return _StandInMeta(name, (_StandIn,), {"__module__": "stand_in"})


class _StandInModule(types.ModuleType):
    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _stand_in_class(f"{self.__name__}.{name}")


class _StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``roots`` (and their submodules) only when no real finder has them: it sits last on the path."""

    def __init__(self, roots: list[str]) -> None:
        self.roots = set(roots)
        self.served: set[str] = set()

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname.split(".")[0] not in self.roots:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec: Any) -> types.ModuleType:
        module = _StandInModule(spec.name)
        module.__path__ = []
        module.__version__ = "0.0.0+conformance.stand.in"
        module.__doc__ = "Stand-in module of the VLMEvalKit conformance probe: not the real package."
        self.served.add(spec.name.split(".")[0])
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def _block_network() -> None:
    def refuse(self: socket.socket, address: Any) -> None:
        raise OSError(f"network blocked by the conformance probe (connect to {address!r}): a step downloads")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]


# ---------------------------------------------------------------- helpers


class Probe:
    """Collects the report while the steps run."""

    def __init__(self, checkout: Path) -> None:
        self.checkout = checkout
        self.report: dict[str, Any] = {
            "checkout": str(checkout),
            "python": sys.executable,
            "python_version": sys.version.split()[0],
            "stubs": [],
            "stand_ins": [],
            "problems": [],
        }

    def problem(self, kind: str, subject: str, message: str) -> None:
        self.report["problems"].append({"kind": kind, "subject": subject, "message": message})

    def stub(self, what: str) -> None:
        if what not in self.report["stubs"]:
            self.report["stubs"].append(what)

    def where(self, obj: Any) -> str | None:
        """``file:line`` of a class or function, relative to the checkout where it lies inside it."""
        try:
            path = Path(inspect.getsourcefile(obj) or "")
            line = inspect.getsourcelines(obj)[1]
        except (OSError, TypeError):
            return None
        return f"{self._rel(path)}:{line}"

    def _rel(self, path: Path) -> str:
        try:
            return str(path.resolve().relative_to(self.checkout.resolve()))
        except ValueError:
            return str(path)

    def name_at(self, cls: type, name: str) -> str | None:
        """``file:line`` where ``name`` is written as a string literal in the class that supports it.

        Walks the MRO to the class whose own body lists the name (DATASET_URL or an overridden
        supported_datasets); falls back to the first literal in that class's module file.
        """
        quoted = (f"'{name}'", f'"{name}"')
        for klass in cls.__mro__:
            try:
                lines, start = inspect.getsourcelines(klass)
                path = Path(inspect.getsourcefile(klass) or "")
            except (OSError, TypeError):
                continue
            for offset, text in enumerate(lines):
                if any(q in text for q in quoted):
                    return f"{self._rel(path)}:{start + offset}"
        try:
            path = Path(inspect.getsourcefile(cls) or "")
            for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if any(q in text for q in quoted):
                    return f"{self._rel(path)}:{number}"
        except (OSError, TypeError):
            pass
        return None


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


@contextlib.contextmanager
def _patched(cls: type, attr: str, replacement: Any) -> Iterator[None]:
    """Set ``cls.attr`` for the duration, restoring the class's own entry (or its absence) afterwards."""
    had = attr in cls.__dict__
    old = cls.__dict__.get(attr)
    setattr(cls, attr, replacement)
    try:
        yield
    finally:
        if had:
            setattr(cls, attr, old)
        else:
            delattr(cls, attr)


def _tail(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


# ---------------------------------------------------------------- the steps of run.py


def parse(probe: Probe, run: types.ModuleType, argv: list[str]) -> argparse.Namespace | None:
    """run.py's own ``parse_args()`` with ``sys.argv`` set to our argv; argparse's error is the problem."""
    sys.argv = ["run.py", *argv]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            args = run.parse_args()
    except SystemExit as exc:
        lines = [ln for ln in err.getvalue().splitlines() if ln.strip()]
        probe.problem("argv", " ".join(argv), (lines[-1] if lines else f"parse_args exited {exc.code}"))
        return None
    probe.report["args"] = {k: _jsonable(v) for k, v in sorted(vars(args).items())}
    if getattr(args, "api_mode", False):
        probe.problem("argv", "--api-mode", "selects run_api_mode; the adapter expects run_local_mode")
    return args


def build_model(probe: Probe, run: types.ModuleType, cfg: dict[str, Any], name: str, use_vllm: bool) -> None:
    """``build_model_from_config`` with the resolved class's ``__init__`` replaced by a kwargs recorder."""
    import vlmeval.api
    import vlmeval.vlm

    entry = cfg[name]
    out: dict[str, Any] = {"config": {k: _jsonable(v) for k, v in entry.items()}}
    probe.report["models"][name] = out
    cls_name = entry.get("class")
    if cls_name is None:
        out["supported_VLM"] = name in getattr(run, "supported_VLM", {})
        if not out["supported_VLM"]:
            probe.problem("model_class", name, f"no 'class', and {name!r} is not in supported_VLM")
        return
    # run.py's lookup order: vlmeval.api first, then vlmeval.vlm
    namespace = next((m for m in (vlmeval.api, vlmeval.vlm) if hasattr(m, cls_name)), None)
    if namespace is None:
        try:
            run.build_model_from_config(cfg, name, use_vllm)
        except ValueError as exc:
            probe.problem("model_class", name, str(exc))
        else:
            probe.problem("model_class", name, f"{cls_name} not found, yet build_model_from_config succeeded")
        return
    cls = getattr(namespace, cls_name)
    original = cls.__init__
    signature = inspect.signature(original)
    out["class"], out["namespace"] = cls_name, namespace.__name__
    out["at"], out["signature"] = probe.where(cls), str(signature)
    seen: dict[str, Any] = {}

    def recorder(self: Any, *args: Any, **kwargs: Any) -> None:
        seen["kwargs"] = kwargs
        signature.bind(self, *args, **kwargs)  # TypeError exactly where the real __init__ would raise one

    probe.stub(f"model class {cls_name}: __init__ replaced by a kwargs recorder bound to the real signature")
    try:
        with _patched(cls, "__init__", recorder):
            model = run.build_model_from_config(cfg, name, use_vllm)
    except TypeError as exc:
        if "kwargs" in seen:  # raised by the recorder's bind, not by run.py's own call
            probe.problem("model_kwargs", name, f"{cls_name}{signature} rejects {seen['kwargs']}: {exc}")
        else:
            probe.problem("model_build", name, f"build_model_from_config raised {_tail(exc)}")
        return
    except Exception as exc:  # noqa: BLE001 - report whatever run.py raised
        probe.problem("model_build", name, f"build_model_from_config raised {_tail(exc)}")
        return
    out["built"] = type(model).__name__
    out["kwargs"] = {k: _jsonable(v) for k, v in seen.get("kwargs", {}).items()}
    named = {p.name for p in signature.parameters.values() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    swallowed = sorted(k for k in seen.get("kwargs", {}) if k not in named)
    out["swallowed_by_var_kwargs"] = swallowed
    if swallowed:
        probe.problem(
            "model_kwargs",
            name,
            f"{cls_name}.__init__ has no parameter named {', '.join(swallowed)}: **kwargs would swallow it",
        )


def vlmevalkit_class(run: types.ModuleType, name: str) -> tuple[Any, list[type]]:
    """The class ``vlmeval.dataset.build_dataset`` picks for ``name`` (first claimant), and all claimants.

    Mirrors build_dataset's loop (video shortcuts first, then the first class in DATASET_CLASSES whose
    supported_datasets() has the name) without constructing, which would need the data.
    """
    import vlmeval.dataset as ds

    video = getattr(run, "supported_video_datasets", {})
    if name in video:
        return video[name], []
    claimants = [cls for cls in ds.DATASET_CLASSES if name in cls.supported_datasets()]
    return (claimants[0] if claimants else None), claimants


def resolve(probe: Probe, run: types.ModuleType, name: str) -> dict[str, Any]:
    """How VLMEvalKit itself would resolve dataset ``name`` (no config): class, where, where the name is."""
    picked, claimants = vlmevalkit_class(run, name)
    if picked is None:
        return {"class": None, "claimed_by": []}
    if not isinstance(picked, type):  # a video shortcut (functools.partial)
        return {"class": repr(picked), "claimed_by": [], "video_shortcut": True}
    return {
        "class": picked.__name__,
        "at": probe.where(picked),
        "name_at": probe.name_at(picked, name),
        "type": getattr(picked, "TYPE", None),
        "claimed_by": [c.__name__ for c in claimants],
    }


def build_dataset(
    probe: Probe, run: types.ModuleType, cfg: dict[str, Any], name: str, args: argparse.Namespace
) -> None:
    """``build_dataset_from_config`` (run.py's call, strict=False) with the class's ``load_data`` stubbed."""
    import vlmeval.dataset

    entry = cfg[name]
    out: dict[str, Any] = {"config": {k: _jsonable(v) for k, v in entry.items()}}
    probe.report["datasets"][name] = out
    cls_name = entry.get("class")
    dataset = entry.get("dataset")
    cls = getattr(vlmeval.dataset, cls_name, None) if isinstance(cls_name, str) else None
    if cls is None:
        try:
            run.build_dataset_from_config(cfg, name)
        except ValueError as exc:
            probe.problem("dataset_class", name, str(exc))
        else:
            probe.problem("dataset_class", name, f"class {cls_name!r} not found, yet the build succeeded")
        return
    params = {k: v for k, v in entry.items() if k != "class"}
    accepted = inspect.signature(cls.__init__).parameters
    out.update({"class": cls_name, "at": probe.where(cls), "type": getattr(cls, "TYPE", None)})
    out["dropped_params"] = sorted(k for k in params if k not in accepted)
    if out["dropped_params"]:
        probe.problem(
            "dataset_params",
            name,
            f"{cls_name}.__init__ has no parameter {', '.join(out['dropped_params'])}: run.py "
            "(build_dataset_from_config, strict=False) drops it silently",
        )
    if dataset is None:
        probe.problem("dataset_params", name, f"no 'dataset' entry: {cls_name} would use its default dataset")
        dataset = name
    supported = list(cls.supported_datasets())
    out["supported"] = dataset in supported
    out["name_at"] = probe.name_at(cls, dataset) if out["supported"] else None
    picked = resolve(probe, run, dataset)
    out["vlmevalkit_class"] = picked["class"]
    out["claimed_by"] = picked["claimed_by"]
    if not out["supported"]:
        probe.problem(
            "dataset_name",
            name,
            f"{dataset!r} is not in {cls_name}.supported_datasets()"
            + (f"; build_dataset picks {picked['class']}" if picked["class"] else "; no class claims it"),
        )
    elif picked["class"] != cls_name:
        probe.problem(
            "dataset_class",
            name,
            f"config says {cls_name}, vlmeval.dataset.build_dataset picks {picked['class']} for {dataset!r}",
        )

    def load_data(self: Any, dataset: str) -> Any:
        import pandas as pd

        return pd.DataFrame({"index": [0], "question": [STAND_IN_ROW], "answer": ["A"]})

    probe.stub(f"dataset class {cls_name}: load_data replaced by a one-row table (no TSV download)")
    try:
        with _patched(cls, "load_data", load_data):
            built = run.build_dataset_from_config(cfg, name)
    except Exception as exc:  # noqa: BLE001 - report whatever run.py raised
        probe.problem("dataset_build", name, f"build_dataset_from_config raised {_tail(exc)}")
        return
    if built is None:
        probe.problem("dataset_build", name, "build_dataset_from_config returned None (run.py skips it)")
        return
    out["built"] = type(built).__name__
    out["dataset_name"] = getattr(built, "dataset_name", None)
    if out["dataset_name"] not in (None, dataset):
        probe.problem("dataset_params", name, f"built dataset_name {out['dataset_name']!r}, not {dataset!r}")
    judge = getattr(run, "get_judge_kwargs", None)
    if judge is not None:
        out["judge"] = judge(name, getattr(built, "TYPE", None), args).get("model")


def probe_run(request: dict[str, Any]) -> dict[str, Any]:
    checkout = Path(request["checkout"]).resolve()
    os.chdir(checkout)
    sys.path.insert(0, str(checkout))
    probe = Probe(checkout)
    finder = _StandInFinder(list(request.get("stand_ins", [])))
    sys.meta_path.append(finder)
    _block_network()
    probe.stub("network: socket connect raises (nothing may download)")
    try:
        try:
            import run  # noqa: PLC0415 - the checkout's run.py, module code and all
        except Exception as exc:  # noqa: BLE001
            probe.problem("import", "run.py", f"import run failed: {_tail(exc)}")
            return probe.report
        probe.report["run_py"] = probe._rel(Path(run.__file__))
        args = parse(probe, run, list(request["argv"]))
        probe.report.update(models={}, datasets={})
        if args is not None:
            _run_local_mode(probe, run, args)
        probe.report["resolved"] = {n: resolve(probe, run, n) for n in request.get("resolve", [])}
        return probe.report
    finally:
        probe.report["stand_ins"] = sorted(finder.served)


def _run_local_mode(probe: Probe, run: types.ModuleType, args: argparse.Namespace) -> None:
    """run_local_mode's setup as run.py writes it, up to the first weight or data load."""
    if args.config is None:
        for name in args.data or []:
            probe.report["datasets"][name] = resolve(probe, run, name)
            if probe.report["datasets"][name]["class"] is None:
                probe.problem("dataset_name", name, "no class in vlmeval.dataset supports it")
        for name in args.model or []:
            if name not in getattr(run, "supported_VLM", {}):
                probe.problem("model_class", name, "not in vlmeval.config.supported_VLM (use --config)")
        return
    if args.data is not None or args.model is not None:
        probe.problem("argv", "--config", "--data and --model should not be set when using --config (run.py)")
    if getattr(args, "data_config", None):
        probe.problem("argv", "--config", "--data-config should not be set when using --config (run.py)")
    load = getattr(run, "load", None)
    if load is None:
        from vlmeval.smp import load
    cfg = load(args.config)
    for section in ("model", "data"):
        if not isinstance(cfg.get(section), dict) or not cfg[section]:
            probe.problem("config", section, f"{args.config}: '{section}' must be a non-empty object")
            return
    for name in cfg["model"]:
        build_model(probe, run, cfg["model"], name, getattr(args, "use_vllm", False))
    for name in cfg["data"]:
        build_dataset(probe, run, cfg["data"], name, args)


def main() -> int:
    request_path, report_path = sys.argv[1], sys.argv[2]
    request = json.loads(Path(request_path).read_text(encoding="utf-8"))
    report = probe_run(request)
    Path(report_path).write_text(json.dumps(report, indent=1, default=repr) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
