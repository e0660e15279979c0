"""Fetch VLMEvalKit's benchmark TSVs on a CPU node, so GPU jobs without internet never download.

VLMEvalKit downloads a dataset's TSV on first use. Compute nodes have no internet, so the ``vlmeval_data``
rule puts every file where VLMEvalKit looks, in the exact form it accepts, before any GPU job starts. We never
import ``vlmeval`` (its dependencies are not in our environment): each dataset's URL and md5 are read from
the pinned checkout's source with ``ast``.

What VLMEvalKit does, at commit e8e78f05f3080fe28154f2130321f17951c3be94 (paths under ``vlmeval/``):

- Where: ``smp/file.py:81-87`` ``LMUDataRoot()`` is ``$LMUData`` only if that folder exists, otherwise
  ``~/LMUData`` (created). So run.py must get ``LMUData=<absolute path>`` and the folder must exist.
- Which file: ``dataset/image_base.py:222-225`` ``prepare_tsv`` looks for ``<LMUData>/<dataset name>.tsv``,
  not the URL's file name (that "legacy" name, ``image_base.py:236-242``, is only renamed into place). For
  VSR-zeroshot the URL ends in ``vsr_zeroshot_dataset_yn_strict.tsv`` but the file must be
  ``VSR-zeroshot.tsv``.
- What skips the download: ``image_base.py:228-230``: the file exists and ``md5(file)`` equals
  ``DATASET_MD5[name]`` (or the class has no md5 for it). A mismatch re-downloads over it
  (``image_base.py:231-234``); ``smp/file.py:377-385`` ``md5`` hashes the whole file.
- URL and md5: ``image_base.py:308-313`` ``load_data`` takes ``DATASET_URL[name]`` and ``DATASET_MD5[name]``
  of the dataset's class (``image_base.py:139-140`` defaults both to ``{}``; an empty URL means a local
  ``<name>.tsv``, which we cannot fetch). Classes that override ``load_data`` or ``prepare_tsv`` read other
  files, so they are refused here. Dicts are not always literals: ``dataset/image_mcq.py:206-209`` merges
  module-level dicts into ``ImageMCQDataset``'s with ``.update()`` in the class body, some classes fill them
  in ``for`` loops or comprehensions (``spatialvizbench.py:29-31``, ``mmrarebench.py:303``).
- Which class: ``dataset/__init__.py:399-404`` ``build_dataset`` takes the first class listing the name;
  with ``--config`` (what ``sgt.eval.vlmeval.adapter`` writes) run.py uses the class named there
  (``run.py:165-193``).
- Files over 1 GiB: ``image_base.py:247-252`` writes ``<name>_local.tsv`` next to the TSV and decodes its
  images into ``<LMUData>/images/<name>/`` (``tools.py:371-382``, ``smp/file.py:47-78``) on first use,
  offline but into ``$LMUData``. Every dataset's images are also decoded at inference time into
  ``<LMUData>/images/...`` (``image_base.py:150,255-282``): ``$LMUData`` must be writable on the GPU node,
  and concurrent jobs should not share one (``link_lmudata`` gives each job its own folder of links).

Downloads go through ``sgt.data.download`` (resume from ``.part``, retries, md5 check, atomic rename).
"""

from __future__ import annotations

import ast
import difflib
import logging
import os
import re
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sgt.data.download import ChecksumError, DownloadError, RetryPolicy, download, file_digests
from sgt.data.sources import Source
from sgt.io import atomic_write_json, read_json

logger = logging.getLogger(__name__)

DEFAULT_DATASETS = (
    "CV-Bench-2D", "MMVP", "VSR-zeroshot", "POPE", "HallusionBench", "MMMU_DEV_VAL", "MMStar", "OCRBench",
    "DocVQA_VAL", "MathVista_MINI", "ScienceQA_VAL", "MMBench_DEV_EN_V11", "SEEDBench_IMG", "RealWorldQA",
)  # fmt: skip
LOCALIZE_BYTES = 2**30  # image_base.py:247: over this VLMEvalKit writes <name>_local.tsv on first use
_BASE = ("vlmeval/dataset/image_base.py", "ImageBaseDataset")  # whose load_data/prepare_tsv we mirror
_MD5 = re.compile(r"^[0-9a-f]{32}$")
_MUTATORS = ("update", "setdefault", "pop", "popitem", "clear", "__setitem__")


class LMUDataError(ValueError):
    """A dataset whose VLMEvalKit file cannot be located or fetched; the message names the fix."""


@dataclass(frozen=True, slots=True)
class DatasetFile:
    """One VLMEvalKit dataset's TSV: where to get it, what it must hash to, and where that is written."""

    dataset: str
    cls: str  # the class whose DATASET_URL lists it
    url: str
    md5: str | None  # None: VLMEvalKit accepts any file (image_base.py:229)
    url_at: str  # "vlmeval/dataset/image_mcq.py:121"
    md5_at: str | None

    @property
    def filename(self) -> str:
        """The name VLMEvalKit looks for in $LMUData (image_base.py:223), whatever the URL's name."""
        return f"{self.dataset}.tsv"


# ------------------------------------------------------------------------------ reading the checkout


@dataclass(frozen=True, slots=True)
class _Unread:
    reason: str
    at: str


@dataclass(eq=False)
class _Dict:
    """A statically read dict: its entries (value, file:line) and the parts that could not be read."""

    entries: dict[str, tuple[Any, str]] = field(default_factory=dict)
    holes: list[_Unread] = field(default_factory=list)

    def merge(self, other: Any, at: str) -> None:
        if isinstance(other, _Dict):
            self.entries.update(other.entries)
            self.holes.extend(other.holes)
        else:
            self.holes.append(other if isinstance(other, _Unread) else _Unread("not a dict", at))


@dataclass(eq=False)
class _Class:
    name: str
    at: str
    module: _Module
    bases: list[ast.expr]
    env: dict[str, Any] = field(default_factory=dict)
    methods: dict[str, str] = field(default_factory=dict)  # name -> file:line
    end: int = 0  # last line of the class body

    def holds(self, at: str) -> bool:
        rel, line = at.rsplit(":", 1)
        start = int(self.at.rsplit(":", 1)[1])
        return rel == self.module.rel and start <= int(line) <= self.end

    def mro(self) -> list[_Class]:
        """This class and its bases found in the checkout, depth first (enough for single inheritance)."""
        order: list[_Class] = []
        todo = [self]
        while todo:
            c = todo.pop(0)
            if c in order:
                continue
            order.append(c)
            todo[:0] = [v for b in c.bases if isinstance(v := c.module.value(b, {}), _Class)]
        return order

    def attr(self, name: str) -> tuple[Any, _Class] | None:
        """The class attribute ``name`` and the class that sets it."""
        return next(((c.env[name], c) for c in self.mro() if name in c.env), None)

    def method(self, name: str) -> tuple[_Class, str] | None:
        return next(((c, c.methods[name]) for c in self.mro() if name in c.methods), None)


class _Module:
    """One source file, its top level run statically: names bound to strings, dicts and classes."""

    def __init__(self, checkout: _Checkout, rel: str) -> None:
        self.checkout, self.rel = checkout, rel
        self.env: dict[str, Any] = {}
        self.imports: dict[str, tuple[str, int, str]] = {}  # alias -> (module, level, name)
        self.classes: list[_Class] = []
        try:
            with warnings.catch_warnings():  # upstream's invalid escapes in strings are not our concern
                warnings.simplefilter("ignore")
                tree = ast.parse((checkout.root / rel).read_text(encoding="utf-8"), rel)
        except (SyntaxError, UnicodeDecodeError) as err:
            self.error = _Unread(f"cannot be parsed ({err})", rel)
            return
        self.error = None
        self._run(tree.body, self.env, None)

    def at(self, node: ast.AST) -> str:
        return f"{self.rel}:{getattr(node, 'lineno', 0)}"

    def lookup(self, name: str, local: Mapping[str, Any], at: str) -> Any:
        if name in local:
            return local[name]
        if name in self.env:
            return self.env[name]
        if name in self.imports:
            module, level, attr = self.imports[name]
            return self.checkout.import_name(self.rel, module, level, attr, at)
        return _Unread(f"{name} is not defined at module level", at)

    def _run(self, body: list[ast.stmt], env: dict[str, Any], cls: _Class | None) -> None:
        for stmt in body:
            if isinstance(stmt, ast.ImportFrom) and cls is None:
                for a in stmt.names:
                    self.imports[a.asname or a.name] = (stmt.module or "", stmt.level, a.name)
            elif isinstance(stmt, ast.ClassDef) and cls is None:
                c = _Class(stmt.name, self.at(stmt), self, list(stmt.bases), end=stmt.end_lineno or 0)
                self._run(stmt.body, c.env, c)
                env[stmt.name] = c
                self.classes.append(c)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if cls is not None:
                    cls.methods[stmt.name] = self.at(stmt)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign)) and stmt.value is not None:
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                value = self.value(stmt.value, env)
                for t in targets:
                    self._store(t, value, env, stmt)
            elif (
                isinstance(stmt, ast.Expr)
                and isinstance(call := stmt.value, ast.Call)
                and isinstance(call.func, ast.Attribute)
                and call.func.attr in _MUTATORS
            ):  # X.update({...}), also Cls.DATASET_URL.update(...) after the class
                target = self.value(call.func.value, env)
                if isinstance(target, _Dict) and call.func.attr == "update":
                    target.merge(self._dict_call(call.args, call.keywords, env, stmt), self.at(stmt))
                elif isinstance(target, _Dict):
                    target.holes.append(_Unread(f"a .{call.func.attr}() call", self.at(stmt)))
            elif not isinstance(stmt, (ast.Expr, ast.Import, ast.Pass)):
                self._touched(stmt, env)

    def _store(self, target: ast.expr, value: Any, env: dict[str, Any], stmt: ast.stmt) -> None:
        if isinstance(target, ast.Name):
            env[target.id] = value
        elif isinstance(target, ast.Subscript):
            d = self.value(target.value, env)
            key = self.value(target.slice, env)
            if isinstance(d, _Dict):
                if isinstance(key, str):
                    d.entries[key] = (value, self.at(stmt))
                else:
                    d.holes.append(_Unread("an entry with a computed key", self.at(stmt)))

    def _touched(self, stmt: ast.stmt, env: dict[str, Any]) -> None:
        """Loops, ifs, try blocks: whatever they write can no longer be read statically."""
        what = f"written inside a {type(stmt).__name__.lower()} statement"
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                if isinstance(d := env.get(node.id), _Dict):
                    d.holes.append(_Unread(what, self.at(node)))
                else:
                    env[node.id] = _Unread(what, self.at(node))
            elif (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Store)) or (
                isinstance(node, ast.Attribute) and node.attr in _MUTATORS
            ):
                if isinstance(d := self.value(node.value, env), _Dict):
                    d.holes.append(_Unread(what, self.at(node)))

    def value(self, node: ast.expr, env: Mapping[str, Any]) -> Any:
        """The value of an expression made of literals, module names and other classes' attributes."""
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.Name):
            return self.lookup(node.id, env, self.at(node))
        if isinstance(node, ast.Dict):
            d = _Dict()
            for k, v in zip(node.keys, node.values, strict=True):
                if k is None:  # {**other}
                    d.merge(self.value(v, env), self.at(v))
                elif isinstance(key := self.value(k, env), str):
                    d.entries[key] = (self.value(v, env), self.at(k))
                else:
                    d.holes.append(_Unread("an entry with a computed key", self.at(k)))
            return d
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.BitOr)):
            left, right = self.value(node.left, env), self.value(node.right, env)
            if isinstance(node.op, ast.Add) and isinstance(left, str) and isinstance(right, str):
                return left + right
            if isinstance(node.op, ast.BitOr) and isinstance(left, _Dict):
                d = _Dict(dict(left.entries), list(left.holes))
                d.merge(right, self.at(node))
                return d
        if isinstance(node, ast.JoinedStr):
            parts = []
            for p in node.values:
                v = self.value(p.value if isinstance(p, ast.FormattedValue) else p, env)
                if isinstance(p, ast.FormattedValue) and (p.conversion != -1 or p.format_spec):
                    v = None
                if not isinstance(v, (str, int)) or isinstance(v, bool):
                    return _Unread("an f-string with a value that is not a plain constant", self.at(node))
                parts.append(str(v))
            return "".join(parts)
        if isinstance(node, ast.Attribute) and isinstance(owner := self.value(node.value, env), _Class):
            found = owner.attr(node.attr)
            return found[0] if found else _Unread(f"{owner.name}.{node.attr} is not set", self.at(node))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
            return self._dict_call(node.args, node.keywords, env, node)
        kind = type(node).__name__
        return _Unread(f"a {kind} expression that cannot be read without running the code", self.at(node))

    def _dict_call(
        self, args: list[ast.expr], kws: list[ast.keyword], env: Mapping[str, Any], node: Any
    ) -> Any:
        d = _Dict()
        for a in args:
            d.merge(self.value(a, env), self.at(a))
        for kw in kws:
            if kw.arg is None:
                d.merge(self.value(kw.value, env), self.at(kw.value))
            else:
                d.entries[kw.arg] = (self.value(kw.value, env), self.at(kw.value))
        return d


class _Checkout:
    """The ``vlmeval`` package of a checkout, its modules parsed on demand."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.modules: dict[str, _Module | None] = {}  # None while being parsed (import cycles)

    def module(self, rel: str) -> _Module | None:
        if rel not in self.modules:
            self.modules[rel] = None
            self.modules[rel] = _Module(self, rel)
        return self.modules[rel]

    def import_name(self, importer: str, module: str, level: int, attr: str, at: str) -> Any:
        pkg = Path(importer).parent
        for _ in range(max(level - 1, 0)):
            pkg = pkg.parent
        base = pkg.joinpath(*module.split(".")) if level else Path(*module.split("."))
        for rel in (f"{base.as_posix()}.py", f"{base.as_posix()}/__init__.py"):
            if (self.root / rel).is_file():
                m = self.module(rel)
                if m is None:
                    return _Unread(f"{attr} comes from a circular import of {rel}", at)
                return m.lookup(attr, {}, at)
        return _Unread(f"{attr} is imported from {module or '.'}, outside the checkout", at)


def read_datasets(
    checkout: str | os.PathLike[str],
    datasets: Sequence[str],
    *,
    classes: Mapping[str, str] | None = None,
) -> dict[str, DatasetFile]:
    """URL and md5 of each dataset, read from ``<checkout>/vlmeval/dataset/**.py`` without running it.

    ``classes`` names the class run.py is told to use for a dataset (as ``sgt.eval.vlmeval.adapter`` writes
    it); without it the class must be unambiguous. All problems are collected into one LMUDataError.
    """
    root = Path(checkout)
    if not (root / "vlmeval" / "dataset" / "image_base.py").is_file():
        raise LMUDataError(
            f"{root} is not a VLMEvalKit checkout (no vlmeval/dataset/image_base.py); run the "
            "checkout_vlmevalkit rule or point at the folder that holds run.py"
        )
    co = _Checkout(root)
    for path in sorted((root / "vlmeval" / "dataset").rglob("*.py")):
        co.module(path.relative_to(root).as_posix())
    found, problems = {}, []
    for name in datasets:
        try:
            found[name] = _locate(co, name, (classes or {}).get(name))
        except LMUDataError as err:
            problems.append(str(err))
    if problems:
        raise LMUDataError("\n".join(problems))
    return found


def _all_classes(co: _Checkout) -> list[_Class]:
    return [c for m in list(co.modules.values()) if m is not None for c in m.classes]


def _locate(co: _Checkout, name: str, want_cls: str | None) -> DatasetFile:
    listing = []  # (class, its DATASET_URL dict, the class that sets it)
    unread = []  # DATASET_URLs that are not dicts we can read (comprehensions, calls)
    for c in _all_classes(co):
        if (found := c.attr("DATASET_URL")) is not None and isinstance(found[0], _Dict):
            listing.append((c, found[0], found[1]))
        elif found is not None and isinstance(found[0], _Unread):
            unread.append(found[0])
    if want_cls is not None:
        listing = [row for row in listing if row[0].name == want_cls]
        if not listing:
            raise LMUDataError(f"{name}: no class {want_cls!r} with a DATASET_URL under {co.root}/vlmeval")
    hits = [row for row in listing if name in row[1].entries]
    owners = {id(d): (owner, d) for _, d, owner in hits}  # inherited dicts are the same object
    if not owners:
        raise LMUDataError(_not_found(co, name, listing, unread))
    values = {(_plain(d.entries[name][0]), _md5_of(owner, name)[0]) for owner, d in owners.values()}
    if len(owners) > 1 and len(values) > 1:
        where = ", ".join(f"{o.name} ({d.entries[name][1]})" for o, d in owners.values())
        raise LMUDataError(
            f"{name}: listed with different URLs or md5s by {where}; say which class run.py uses "
            "(classes={dataset: class}, as sgt.eval.vlmeval.adapter's BENCHMARKS names it)"
        )
    owner, urls = next(iter(owners.values()))
    cls = next(c for c, d, _ in hits if d is urls) if want_cls else owner
    for method in ("load_data", "prepare_tsv"):
        impl = cls.method(method)
        if impl is not None and (impl[0].module.rel, impl[0].name) != _BASE:
            raise LMUDataError(
                f"{name}: class {cls.name} overrides {method} ({impl[1]}), so VLMEvalKit does not read a "
                f"plain <LMUData>/{name}.tsv for it; fetch its files by hand (read that method) or drop it "
                "from eval.vlmeval.datasets"
            )
    url, url_at = urls.entries[name]
    if isinstance(url, _Unread):
        raise LMUDataError(_unreadable(name, "DATASET_URL", url))
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise LMUDataError(
            f"{name}: DATASET_URL of {owner.name} ({url_at}) is {url!r}, not a download URL; VLMEvalKit then "
            f"expects <LMUData>/{name}.tsv to be there already (image_base.py:310): put it there by hand"
        )
    if urls.holes:
        h = urls.holes[0]
        logger.warning(
            "%s: read from %s, but code at %s (%s) may change that dict; VLMEvalKit's own md5 check on the "
            "GPU node is the last word", name, url_at, h.at, h.reason,
        )  # fmt: skip
    md5, md5_at = _md5_of(cls, name)
    return DatasetFile(name, owner.name, url, md5, url_at, md5_at)


def _plain(v: Any) -> Any:
    return v if isinstance(v, (str, type(None))) else repr(v)


def _md5_of(cls: _Class, name: str) -> tuple[str | None, str | None]:
    found = cls.attr("DATASET_MD5")
    md5s = found[0] if found is not None else _Dict()
    if isinstance(md5s, _Unread):
        raise LMUDataError(_unreadable(name, "DATASET_MD5", md5s))
    if not isinstance(md5s, _Dict):
        raise LMUDataError(f"{name}: DATASET_MD5 of {cls.name} ({cls.at}) is not a dict")
    if name not in md5s.entries:
        if md5s.holes:
            raise LMUDataError(_unreadable(name, "DATASET_MD5", md5s.holes[0]))
        return None, None
    md5, at = md5s.entries[name]
    if isinstance(md5, _Unread):
        raise LMUDataError(_unreadable(name, "DATASET_MD5", md5))
    if not isinstance(md5, str) or not _MD5.match(md5):
        raise LMUDataError(f"{name}: DATASET_MD5 entry {md5!r} ({at}) is not 32 lowercase hex digits")
    return md5, at


def _unreadable(name: str, what: str, why: _Unread) -> str:
    return (
        f"{name}: its {what} entry cannot be read statically: {why.reason} ({why.at}). Read it there and "
        "fetch the file by hand, or extend sgt.eval.vlmeval.lmudata to read this form"
    )


def _not_found(
    co: _Checkout, name: str, listing: list[tuple[_Class, _Dict, _Class]], unread: list[_Unread]
) -> str:
    """Either the name is in the source but in a form we cannot read, or it is not a dataset (a typo)."""
    quoted = re.compile(rf"""['"]{re.escape(name)}['"]""")
    mentions = []
    for rel, m in co.modules.items():
        if m is not None:
            text = (co.root / rel).read_text(encoding="utf-8", errors="replace").splitlines()
            mentions += [f"{rel}:{i}" for i, line in enumerate(text, 1) if quoted.search(line)]
    files = {at.split(":")[0] for at in mentions}
    parts = [*unread, *(h for _, d, _ in listing for h in d.holes)]
    holes = {h.at: h for h in parts if h.at.split(":")[0] in files}
    if holes:
        why = "; ".join(f"{h.reason} ({h.at})" for h in list(holes.values())[:3])
        return (
            f"{name}: appears at {', '.join(mentions[:3])}, but the DATASET_URL there cannot be read "
            f"statically: {why}. Read its URL and md5 there and fetch <LMUData>/{name}.tsv by hand, or "
            "extend sgt.eval.vlmeval.lmudata to read this form"
        )
    own_list = [
        f"{c.name} ({c.methods['supported_datasets']})"
        for rel in sorted(files)
        if (m := co.modules.get(rel)) is not None
        for c in m.classes
        if "supported_datasets" in c.methods and any(c.holds(at) for at in mentions)
    ]
    if own_list:
        return (
            f"{name}: appears at {', '.join(mentions[:3])}, where {', '.join(own_list[:3])} list datasets in "
            "code, not in DATASET_URL, and read them their own way: fetch its files by hand (read that "
            "class) or drop it from eval.vlmeval.datasets"
        )
    known = sorted({k for _, d, _ in listing for k in d.entries})
    close = difflib.get_close_matches(name, known, n=5, cutoff=0.6)
    close += [k for k in known if name.lower() in k.lower() and k not in close][: 5 - len(close)]
    return (
        f"{name}: no DATASET_URL at this checkout lists it ({len(known)} datasets do)"
        + (f"; did you mean {', '.join(close)}?" if close else ".")
        + (f" It is mentioned at {', '.join(mentions[:3])}, not as a dataset URL." if mentions else "")
        + " Fix eval.vlmeval.datasets, or pin a VLMEvalKit commit that has it"
    )


# ------------------------------------------------------------------------------ fetching


def fetch_lmudata(
    checkout: str | os.PathLike[str],
    datasets: Sequence[str],
    lmudata: str | os.PathLike[str],
    manifest: str | os.PathLike[str],
    *,
    commit: str | None = None,
    classes: Mapping[str, str] | None = None,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, dict[str, Any]]:
    """Put each dataset's ``<name>.tsv`` in ``lmudata`` with VLMEvalKit's md5, then write ``manifest``.

    A file already there with the right md5 is kept (a rerun downloads nothing); one with another md5 is
    replaced, as VLMEvalKit itself would. Every dataset is tried before failing, and the manifest is
    written only when all are in place. ``commit`` is the pinned VLMEvalKit commit (checked against a git
    checkout's HEAD).
    """
    files = read_datasets(checkout, datasets, classes=classes)
    commit = _commit(Path(checkout), commit)
    folder = Path(lmudata)
    records, problems = {}, []
    for name, f in files.items():
        try:
            records[name] = _fetch(f, folder, policy or RetryPolicy(), sleep)
        except (DownloadError, OSError) as err:
            problems.append((name, err))
    if problems:
        kind = ChecksumError if all(isinstance(e, ChecksumError) for _, e in problems) else DownloadError
        why = "\n".join(f"{n}: {e}" for n, e in problems)
        raise kind(f"not all VLMEvalKit datasets could be fetched:\n{why}")
    write_manifest(manifest, records, commit=commit)
    return records


def _commit(checkout: Path, commit: str | None) -> str | None:
    from sgt.models.backends.upstream import head_commit

    head = head_commit(checkout)
    if head and commit and head != commit.lower():
        raise LMUDataError(
            f"{checkout} is at {head}, not the pinned {commit}; delete it and rerun checkout_vlmevalkit"
        )
    return head or commit


def _fetch(
    f: DatasetFile, folder: Path, policy: RetryPolicy, sleep: Callable[[float], None]
) -> dict[str, Any]:
    dest = folder / f.filename
    if dest.exists():
        size, md5, _ = file_digests(dest)
        if f.md5 is None or md5 == f.md5:
            logger.info("%s: %s already there (md5 %s)", f.dataset, dest, md5)
            return _record(f, size, md5)
        logger.warning(
            "%s: %s has md5 %s, but VLMEvalKit expects %s (%s) and would download it again; replacing it",
            f.dataset, dest, md5, f.md5, f.md5_at,
        )  # fmt: skip
        dest.unlink()
    hint = f"DATASET_URL of {f.cls} at {f.url_at}"
    try:
        download(Source(f.filename, f.url, md5=f.md5), dest, policy=policy, sleep=sleep, hint=hint)
    except ChecksumError as err:
        raise ChecksumError(
            f"{err} VLMEvalKit at this commit expects md5 {f.md5} ({f.md5_at}); if upstream replaced the "
            "file, pin a VLMEvalKit commit whose DATASET_MD5 matches it"
        ) from err
    size, md5, _ = file_digests(dest) if f.md5 is None else (dest.stat().st_size, f.md5, None)
    logger.info("%s: fetched %s (%d bytes, md5 %s)", f.dataset, dest, size, md5)
    return _record(f, size, md5)


def _record(f: DatasetFile, size: int, md5: str) -> dict[str, Any]:
    if size > LOCALIZE_BYTES:
        logger.warning(
            "%s: %.2f GiB is over 1 GiB, so VLMEvalKit will write %s_local.tsv and decode its images into "
            "$LMUData/images on first use (image_base.py:247-252)", f.dataset, size / 2**30, f.dataset,
        )  # fmt: skip
    return {
        "file": f.filename,
        "size": size,
        "md5": md5,
        "url": f.url,
        "class": f.cls,
        "defined_at": f.url_at,
        "md5_at": f.md5_at,
        "localize": size > LOCALIZE_BYTES,
    }


def write_manifest(
    path: str | os.PathLike[str], records: Mapping[str, Mapping[str, Any]], *, commit: str | None
) -> Path:
    """``{"vlmevalkit_commit", "datasets": {name: {file, size, md5, url, ...}}}``, written atomically."""
    datasets = {k: dict(v) for k, v in records.items()}
    atomic_write_json(path, {"vlmevalkit_commit": commit, "datasets": datasets})
    return Path(path)


def link_lmudata(manifest: str | os.PathLike[str], job_dir: str | os.PathLike[str]) -> Path:
    """A job's own $LMUData: links to the shared TSVs of ``manifest``, so images it decodes stay its own.

    VLMEvalKit writes decoded images (and ``_local.tsv`` files) into $LMUData without locking; jobs that
    share one folder can read each other's half-written images. Links keep the md5 check (it reads through).
    """
    shared = Path(manifest).resolve().parent
    job = Path(job_dir)
    job.mkdir(parents=True, exist_ok=True)
    for name, rec in read_json(manifest)["datasets"].items():
        target, link = shared / rec["file"], job / rec["file"]
        if not target.is_file():
            raise FileNotFoundError(f"{name}: {target} is in {manifest} but missing; rerun vlmeval_data")
        if link.is_symlink() or link.exists():
            if link.resolve() == target:
                continue
            link.unlink()
        link.symlink_to(target)
    return job.resolve()
