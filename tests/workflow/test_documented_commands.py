"""Every command printed in README.md, docs/*.md and the config and profile headers, run as a user runs it.

The repository is copied (the tracked and unignored files, as a fresh clone has them) and each command runs
with the copy's root as its working directory, the project's virtualenv first on PATH, exactly as printed:
for real where that takes seconds, with ``-n`` appended to its snakemake call where a real run takes hours.
A test that ran with ``-d elsewhere`` hid a broken paper command for nine sessions; nothing here changes the
working directory. A command added to the docs without an entry in ``COMMANDS`` fails the first test.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest
import yaml
from repo_clone import clone_repo, shell
from report_checks import assert_report_shows_the_run

REPO = Path(__file__).resolve().parents[2]
STARTS = (
    "snakemake",
    ".venv/bin/",
    "make ",
    "sgt ",
    "python -m sgt",
    "PYTHONPATH=",
    ". .venv/bin/activate",
    "export SGT_",
    ".ci/run",
)


# --- finding the commands -------------------------------------------------------------------------------


def _is_command(text: str) -> bool:
    return text.startswith(STARTS)


def _strip_comment(line: str) -> str:
    return re.split(r"\s+#\s", line, maxsplit=1)[0].strip()


def _markdown_commands(text: str) -> list[str]:
    out = []
    for block in re.findall(r"```(?:bash|sh|console)\n(.*?)```", text, re.S):
        out += [_strip_comment(line) for line in block.splitlines() if _is_command(_strip_comment(line))]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    out += [c.strip() for c in re.findall(r"`([^`\n]+)`", prose) if _is_command(c.strip())]
    return out


def _yaml_header_commands(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        body = line.lstrip("#")
        if body.startswith("   ") and _is_command(body.strip()):
            out.append(_strip_comment(body.strip()))
        out += [c.strip() for c in re.findall(r"`([^`\n]+)`", body) if _is_command(c.strip())]
    return out


def documented_commands() -> dict[str, list[str]]:
    """Each command (whitespace collapsed) and the files that print it."""
    found: dict[str, list[str]] = {}
    docs = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
    headers = [*sorted((REPO / "config").glob("*.yaml")), *sorted((REPO / "profiles").glob("*/config.yaml"))]
    for path in docs:
        for cmd in _markdown_commands(path.read_text(encoding="utf-8")):
            found.setdefault(" ".join(cmd.split()), []).append(str(path.relative_to(REPO)))
    for path in headers:
        for cmd in _yaml_header_commands(path.read_text(encoding="utf-8")):
            found.setdefault(" ".join(cmd.split()), []).append(str(path.relative_to(REPO)))
    return found


# --- how each one is run ---------------------------------------------------------------------------------

Check = Callable[[subprocess.CompletedProcess[str], Path], None]


@dataclass(frozen=True)
class Doc:
    """A documented command and how it is run: ``dry`` appends ``-n`` to its snakemake call, ``run`` runs it
    as printed; ``subs`` fills placeholders (``<task>``), ``before`` is shell run first (a block's earlier
    lines), ``options`` are the command's own documented size options, appended to keep a run short,
    ``elsewhere`` names the test that runs it when this module cannot (with the reason)."""

    mode: str  # "dry" | "run" | "elsewhere"
    subs: dict[str, str] = field(default_factory=dict)
    before: str = ""
    check: Check | None = None
    elsewhere: str = ""
    options: str = ""


def job_counts(output: str) -> dict[str, int]:
    """Snakemake's "Job stats" table."""
    counts: dict[str, int] = {}
    block = output.split("Job stats:", 1)[1] if "Job stats:" in output else ""
    for line in block.splitlines()[3:]:
        m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not m:
            if counts:
                break
            continue
        if m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts


def gpu_jobs_on_gpu_nodes(output: str) -> None:
    """With the SLURM profile, every job that asks for GPUs goes to the GPU partition (gpu_rules)."""
    if "slurm_partition=" not in output:  # planned without the SLURM profile
        return
    jobs = re.findall(r"^rule (\w+):\n(?:(?!^rule ).*\n)*?\s+resources: (.*)$", output, flags=re.M)
    wrong = sorted(
        {rule for rule, res in jobs if re.search(r"\bgpu=[1-9]", res) and "slurm_partition=gpu" not in res}
    )
    assert not wrong, f"GPU jobs sent to a CPU partition (add them to gpu_rules in profiles/slurm): {wrong}"
    assert any("slurm_partition=gpu" in res for _, res in jobs), "no job reached the GPU partition"


def paper_plan(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    """The paper study and nothing else: one train job per (model, variant, seed), each after a preflight."""
    gpu_jobs_on_gpu_nodes(result.stdout)
    paper = yaml.safe_load((clone / "config" / "paper.yaml").read_text())
    study = paper["study"]
    counts = job_counts(result.stdout)
    # the released model (variant "base", no mix) is evaluated as published: no run, every benchmark
    released = [v for v, spec in study["variants"].items() if not spec.get("mix")]
    assert released == ["base"], released
    tuned = [v for v in study["variants"] if v not in released]

    def runs_of(variants: list[str], models: list[str] | None = None) -> set[tuple[str, str]]:
        """(model, variant) pairs the study runs: study.variants.<v>.models, else every model."""
        return {
            (m, v)
            for v in variants
            for m in study["variants"][v].get("models") or study["models"]
            if models is None or m in models
        }

    def seeded(runs: set[tuple[str, str]]) -> set[tuple[str, str, int]]:
        """Each run with each of its variant's seeds: study.variants.<v>.seeds, else study.seeds."""
        return {(m, v, s) for m, v in runs for s in study["variants"][v].get("seeds") or study["seeds"]}

    # OmniGen2 is tuned on exactly the variants that are one of its rows in the paper (Tables 3, 6, 7, 9)
    og2_rows = {
        (table, r["row"])
        for table in ("table3", "table6", "table7", "table9")
        for r in csv.DictReader(open(clone / "config" / "paper_reference" / f"{table}.csv"))
        if r["model"] == "OmniGen2" and r["row"] != "Base"
    }
    og2 = {v for m, v in runs_of(tuned) if m == "omnigen2"}
    tagged_rows = {v: set(study["variants"][v].get("tables", {}).items()) for v in tuned}
    assert og2 == {v for v in tuned if tagged_rows[v] & og2_rows}, og2
    assert set().union(*(tagged_rows[v] for v in og2)) >= og2_rows
    assert len(og2) == 10 and len(runs_of(tuned, ["bagel"])) == 16, og2
    runs = len(seeded(runs_of(tuned)))
    assert counts["train"] == counts["preflight"] == counts["export_training_data"] == runs, counts
    evaluated = len(seeded(runs_of(list(study["variants"]))))
    assert counts["vlmeval"] == counts["vlmeval_model"] == evaluated and counts["make_targets"] >= 200, counts
    assert counts["vlmeval_data"] == 1, counts  # one CPU job fetches every TSV before the GPU jobs
    # GenEval images: the runs of variants in the tables that report GenEval (eval.cluster_geneval.tables:
    # Tables 3 and 7, and the base) x the paper's 12 generation seeds, for each model whose backend has a
    # GenEval drawer (both); OmniGen2 draws from a generation folder of its own
    from sgt.models.backends.drawing import drawn_benchmarks

    drawing = [m for m in study["models"] if "geneval" in drawn_benchmarks(paper["models"][m]["backend"])]
    assert drawing == ["bagel", "omnigen2"], drawing
    # GenEval scores: one GPU job per run scores its 12 generated folders and averages them
    schema = yaml.safe_load((clone / "workflow" / "schemas" / "config.schema.yaml").read_text())
    geneval = schema["properties"]["eval"]["properties"]["cluster_geneval"]["properties"]
    gseeds = paper["eval"].get("cluster_geneval", {}).get("seeds", geneval["seeds"]["default"])
    tables = paper["eval"].get("cluster_geneval", {}).get("tables", geneval["tables"]["default"])
    assert tables == ["table3", "table7"] and len(gseeds) == 12, (tables, gseeds)
    drawn = [v for v, spec in study["variants"].items() if set(spec.get("tables") or {}) & set(tables)]
    scored = runs_of(drawn + released, drawing)
    assert counts["score_geneval"] == len(seeded(scored)), counts
    assert counts["generate_geneval"] == counts["score_geneval"] * len(gseeds) == 2 * 9 * 12, counts
    assert "average_geneval" not in counts, counts
    for model, variant in scored:
        assert f"results/eval/{model}/{variant}/geneval/seed{study['seeds'][0]}.csv" in result.stdout
    assert "results/eval/bagel/isr/geneval/" not in result.stdout  # Table 6 only: no GenEval in the paper
    # OmniGen2 draws from its generation folder (one per trained run), BAGEL from the VLMEvalKit folder
    generating = {(m, v) for m, v in scored if m == "omnigen2"}
    assert counts["generation_model"] == len(seeded(generating)), counts
    assert "results/generation_models/omnigen2/sft/seed0" in result.stdout
    assert "results/generation_models/omnigen2/base/seed0" in result.stdout
    assert "results/generation_models/bagel/" not in result.stdout
    assert counts["checkout_geneval"] == 1, counts  # GenEval's own prompt file, for OmniGen2

    # GEdit-Bench-EN where the paper reports it (Table 3: every model), DPG-Bench for Table 9 (BAGEL only)
    def tagged(table: str) -> list[str]:  # the table's rows: its tagged variants and the base row
        return [v for v, spec in study["variants"].items() if table in (spec.get("tables") or {})] + released

    assert len(tagged("table3")) == 5 and len(tagged("table9")) == 3, study["variants"]
    gedit = [m for m in study["models"] if "gedit" in drawn_benchmarks(paper["models"][m]["backend"])]
    assert gedit == ["bagel", "omnigen2"] == study["models"], gedit
    gedit_runs = len(seeded(runs_of(tagged("table3"), gedit)))
    assert counts["score_gedit"] == counts["generate_gedit"] == gedit_runs, counts
    dpg_models = schema["properties"]["eval"]["properties"]["dpg"]["properties"]["models"]["default"]
    dpg_runs = len(seeded(runs_of(tagged("table9"), paper["eval"].get("dpg", {}).get("models", dpg_models))))
    assert counts["score_dpg"] == counts["generate_dpg"] == dpg_runs, counts
    assert counts["checkout_gedit_bench"] == counts["checkout_dpg_bench"] == 1, counts
    assert counts["gedit_dataset"] == 1, counts  # the one copy every GEdit job reads

    # Figs. 7 and 8: one analysis job per (analysed model, compared variant, seed), one figures job per model
    from sgt.analysis.cluster import EXTRACTORS

    analysed = [m for m in study["models"] if paper["models"][m]["backend"] in EXTRACTORS]
    assert "bagel" in analysed, analysed
    compare = paper["analysis"]["compare"]
    assert set(compare) <= set(study["variants"]), compare
    assert counts["analyse_cluster"] == len(seeded(runs_of(compare, analysed))), counts
    assert counts["analysis_figures"] == len(analysed), counts
    assert compare[0] == "base", compare  # the paper compares SGT-BAGEL with the released BAGEL
    # nothing of the embedded demo: no tiny model, no built base or untrained variant, no embedded benchmarks
    for rule in ("pretrain", "untrained", "evaluate", "embedded_benchmark", "toyworld", "analyse"):
        assert rule not in counts, (rule, counts)
    assert "geneval_prompts" not in counts, counts  # the toy prompts: the tiny model's GenEval only
    planned = set(re.findall(r"results/models/(\w+)/(\w+)/seed(\d+)", result.stdout))
    asked = {(m, v, str(s)) for m, v, s in seeded(runs_of(tuned))}
    assert planned == asked, planned ^ asked
    for model, variant, seed in asked:  # train reads what its own preflight checked
        assert f"results/preflight/{model}/{variant}/seed{seed}.json" in result.stdout


def fig5_plan(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    """The paper study plus Fig. 5's sweeps: a fine-tune per sweep variant and model, and both panels."""
    paper = yaml.safe_load((clone / "config" / "paper.yaml").read_text())
    sweeps = yaml.safe_load((clone / "config" / "paper_fig5.yaml").read_text())["study"]["variants"]
    study = paper["study"]
    counts = job_counts(result.stdout)
    tuned = sum(
        len(spec.get("models") or study["models"]) for spec in study["variants"].values() if spec.get("mix")
    )
    assert counts["train"] == (tuned + len(study["models"]) * len(sweeps)) * len(study["seeds"]), counts
    for variant in sweeps:
        for model in study["models"]:
            assert f"results/eval/{model}/{variant}/seed{study['seeds'][0]}.csv" in result.stdout
    for figure in ("fig5a", "fig5b"):
        assert f"results/figures/{figure}.png" in result.stdout, figure


def demo_plan(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    counts = job_counts(result.stdout)
    assert "preflight" not in counts and "vlmeval" not in counts, counts
    assert "results/models/bagel" not in result.stdout


def study_plan(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    demo_plan(result, clone)
    study = yaml.safe_load((clone / "config" / "study.yaml").read_text())
    assert job_counts(result.stdout)["make_targets"] >= len(study["targets"]["tasks"])


def _train_gpu_hours(printed: str) -> dict[str, float]:
    """The train rows of `sgt budget`'s table: model -> GPU-hours."""
    rows = [line.split("|")[1:-1] for line in printed.splitlines() if line.startswith("| train |")]
    return {cells[1].strip(): float(cells[7].replace(",", "")) for cells in rows}


def paper_budget(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    """Train GPU-hours = jobs x GPUs x the paper's hours (Sec. 7.3: BAGEL 10,000 steps in 18 h, OmniGen2 2,500
    in 4 h) at config/paper.yaml's steps; twice the seeds, twice the hours."""
    assert result.returncode == 0, result.stderr[-3000:]
    paper = yaml.safe_load((clone / "config" / "paper.yaml").read_text())
    hours = {"bagel": 18 / 10000, "omnigen2": 4 / 2500}  # per step, from the paper
    tuned = [v for v, spec in paper["study"]["variants"].items() if spec.get("mix")]
    expected = {}
    for model in paper["study"]["models"]:
        spec = paper["models"][model]
        jobs = sum(model in paper["study"]["variants"][v].get("models", [model]) for v in tuned)
        expected[model] = (
            jobs * len(paper["study"]["seeds"]) * spec["recipe"]["steps"] * hours[model] * spec["gpus"]
        )
    assert expected == {
        "bagel": 16 * 8 * 18,
        "omnigen2": 10 * 4 * 4,
    }  # the hand computation, docs/backends.md
    assert _train_gpu_hours(result.stdout) == pytest.approx(expected), result.stdout
    (clone / "two_seeds.yaml").write_text("study: {seeds: [0, 1]}\n")
    doubled = shell("sgt budget --configfile config/paper.yaml two_seeds.yaml", clone)
    assert doubled.returncode == 0, doubled.stderr[-3000:]
    assert _train_gpu_hours(doubled.stdout) == pytest.approx({m: 2 * h for m, h in expected.items()})


def tiny_config_plan(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    counts = job_counts(result.stdout)
    assert counts.get("train", 0) == 1 and "results/models/tiny/sft_semantic/seed0" in result.stdout, counts
    assert "results/models/tiny/sft_edge" not in result.stdout  # a demo variant: must not leak in


def one_task(result: subprocess.CompletedProcess[str], clone: Path) -> None:
    counts = job_counts(result.stdout)
    assert "train" not in counts and counts["target_manifest"] == 1, counts


SLURM_TRY_PLAN = (
    "snakemake --profile slurm --slurm-status-command squeue --slurm-init-seconds-before-status-checks 2"
)
SLURM_TRY = (
    "PYTHONPATH=src python -m sgt.testing.slurm_cluster start /tmp/slurm-try && . /tmp/slurm-try/env.sh"
)
COMMANDS: dict[str, Doc] = {
    # README: set-up, the demo, the tiny config
    "make demo": Doc("elsewhere", elsewhere="test_make_demo_then_the_readme_commands_that_follow_it"),
    "make test": Doc("elsewhere", elsewhere="CI: .ci/run runs it, and this module is part of it"),
    ".ci/run": Doc("elsewhere", elsewhere="CI runs it on every submission"),
    ".venv/bin/snakemake -n": Doc("run", check=demo_plan),
    ".venv/bin/snakemake --cores 2 results/targets/edge/manifest.parquet": Doc("dry", check=one_task),
    ".venv/bin/snakemake --configfile config/test.yaml --cores 2": Doc(
        "elsewhere", elsewhere="test_test_config_runs_end_to_end_then_has_nothing_to_do"
    ),
    "snakemake --configfile config/test.yaml --cores 2": Doc("dry", check=tiny_config_plan),
    ".venv/bin/snakemake --report results/report.html": Doc(
        "elsewhere", elsewhere="test_make_demo_then_the_readme_commands_that_follow_it"
    ),
    "snakemake --report results/report.html": Doc(
        "elsewhere", elsewhere="test_make_demo_then_the_readme_commands_that_follow_it"
    ),
    "python -m sgt.report.screenshot results/report.html report.png": Doc(
        "elsewhere", elsewhere="test_make_demo_then_the_readme_commands_that_follow_it"
    ),
    "sgt results": Doc("elsewhere", elsewhere="test_make_demo_then_the_readme_commands_that_follow_it"),
    "make screenshots": Doc("elsewhere", elsewhere="test_make_demo_then_the_readme_commands_that_follow_it"),
    ".venv/bin/snakemake --unlock": Doc("run"),
    "sgt budget --configfile config/paper.yaml": Doc("run", check=paper_budget),
    "make base-checkpoint": Doc("elsewhere", elsewhere="test_make_base_checkpoint_plans_only_the_base"),
    "make vlmeval-env": Doc("elsewhere", elsewhere="test_make_vlmeval_env_builds_from_the_env_file"),
    "sgt toyworld --out DIR --n-train N --n-val M --seed S": Doc(
        "run", subs={"DIR": "results/toy", "N": "4", "M": "2", "S": "0"}
    ),
    "snakemake --cores 2 results/targets/brightest/manifest.parquet": Doc(
        "elsewhere", elsewhere="test_the_readme_new_task_example"
    ),
    (
        "sgt synth --task brightest --param function=mytasks:brightest --param level=low --coco-root "
        "results/data/toyworld --out results/brightest --limit 8 --export-png"
    ): Doc("elsewhere", elsewhere="test_the_readme_new_task_example"),
    "snakemake --workflow-profile profiles/local --configfile config/config.yaml config/study.yaml": Doc(
        "dry", check=study_plan
    ),
    # the benchmarks' own size options (their docstrings): every method and every dry run still runs once
    "PYTHONPATH=src python benchmarks/synth.py": Doc("run", options="--images 4 --repeats 1"),
    "PYTHONPATH=src python benchmarks/dry_run.py": Doc("run", options="--repeats 1"),
    # the CPU rehearsal of the paper DAG (config/rehearsal.yaml's header, docs/backends.md)
    "snakemake --configfile config/paper.yaml config/rehearsal.yaml <site>/site.yaml --cores 2": Doc(
        "elsewhere",
        elsewhere="test_the_paper_dag_runs_end_to_end_on_stand_ins_and_reports_every_table_and_figure",
    ),
    "PYTHONPATH=src python -m pytest tests/workflow/test_rehearsal.py": Doc(
        "elsewhere",
        elsewhere="test_the_paper_dag_runs_end_to_end_on_stand_ins_and_reports_every_table_and_figure",
    ),
    # the paper study, from the root
    "snakemake -n --configfile config/paper.yaml": Doc("run", check=paper_plan),
    "snakemake --profile slurm --configfile config/paper.yaml -n": Doc("run", check=paper_plan),
    "snakemake --profile slurm --configfile config/paper.yaml": Doc("dry", check=paper_plan),
    "snakemake --profile slurm --configfile config/paper.yaml config/paper_fig5.yaml": Doc(
        "dry", check=fig5_plan
    ),
    # docs/slurm.md and the profiles
    ". .venv/bin/activate": Doc("run"),
    "export SGT_SLURM_ACCOUNT=myproject": Doc("run", before=". .venv/bin/activate"),
    "snakemake --profile slurm": Doc(
        "dry", before=". .venv/bin/activate && export SGT_SLURM_ACCOUNT=myproject", check=demo_plan
    ),
    "snakemake --workflow-profile profiles/local --cores 2": Doc("dry", check=demo_plan),
    "snakemake --workflow-profile profiles/local --cores 16 --resources gpu=2": Doc("dry", check=demo_plan),
    "snakemake --workflow-profile profiles/local --cores N": Doc("dry", subs={"N": "2"}, check=demo_plan),
    "snakemake --profile slurm -n": Doc("run", check=demo_plan),
    "snakemake --profile path/to/copy": Doc(
        "dry", before="mkdir -p path/to && cp -r profiles/slurm path/to/copy", check=demo_plan
    ),
    "snakemake --profile slurm results/targets/<task>/manifest.parquet": Doc(
        "dry", subs={"<task>": "edge"}, check=one_task
    ),
    "snakemake --profile slurm -n results/targets/<task>/manifest.parquet": Doc(
        "run", subs={"<task>": "edge"}, check=one_task
    ),
    "snakemake --profile slurm results/targets/<task>/manifest.parquet --forcerun make_targets": Doc(
        "dry", subs={"<task>": "edge"}, check=one_task
    ),
    "snakemake --profile slurm --unlock": Doc("run"),
    "PYTHONPATH=src python -m pytest -rs tests/slurm": Doc(
        "elsewhere", elsewhere="the suite: make test collects tests/slurm"
    ),
    SLURM_TRY: Doc("elsewhere", elsewhere="test_the_hand_run_slurm_cluster_block"),
    SLURM_TRY_PLAN: Doc("elsewhere", elsewhere="test_the_hand_run_slurm_cluster_block"),
    "PYTHONPATH=src python -m sgt.testing.slurm_cluster stop /tmp/slurm-try": Doc(
        "elsewhere", elsewhere="test_the_hand_run_slurm_cluster_block"
    ),
    # docs/backends.md (VLMEvalKit conformance): needs a VLMEvalKit checkout and an interpreter with its deps
    (
        "python -m sgt.eval.vlmeval.conformance --checkout results/upstream/vlmevalkit --python "
        "/path/to/vlmeval-env/bin/python --configfile config/paper.yaml"
    ): Doc(
        "elsewhere",
        elsewhere="tests/eval/test_vlmeval_conformance.py: test_paper_invocation_conforms, the same check on "
        "the stand-in (and on a checkout named by SGT_VLMEVALKIT_CHECKOUT)",
    ),
}


# --- running them ----------------------------------------------------------------------------------------


def as_run(command: str, doc: Doc) -> str:
    for placeholder, value in doc.subs.items():
        command = command.replace(placeholder, value)
    if doc.options:
        command += f" {doc.options}"
    if doc.mode == "dry":
        command += " -n"
    return f"{doc.before}\n{command}" if doc.before else command


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return clone_repo(tmp_path_factory.mktemp("clone") / "sgt-pipeline")


def test_every_documented_command_has_a_way_to_run() -> None:
    found = documented_commands()
    missing = sorted(set(found) - set(COMMANDS))
    stale = sorted(set(COMMANDS) - set(found))
    assert not missing, f"documented but untested (add them to COMMANDS): {[(c, found[c]) for c in missing]}"
    assert not stale, f"tested but no longer documented (drop them from COMMANDS): {stale}"


@pytest.mark.parametrize("command", [c for c, d in COMMANDS.items() if d.mode != "elsewhere"])
def test_documented_command_runs_from_the_root(clone: Path, command: str) -> None:
    doc = COMMANDS[command]
    result = shell(as_run(command, doc), clone)
    assert result.returncode == 0, f"{as_run(command, doc)}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    if doc.check is not None:
        doc.check(result, clone)


def test_the_tiny_config_plans_from_the_root_alone(clone: Path) -> None:
    """Issue 21's line: the demo's config used to be merged under config/test.yaml from the root."""
    result = shell("snakemake -n --configfile config/test.yaml", clone)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    tiny_config_plan(result, clone)


def test_the_readme_new_task_example(tmp_path: Path) -> None:
    """README's "Adding a proxy task": its Python and YAML blocks, then its snakemake and sgt synth lines."""
    clone = clone_repo(tmp_path / "sgt-pipeline")
    readme = (clone / "README.md").read_text()
    section = readme.split("## Adding a proxy task", 1)[1].split("\n## ", 1)[0]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    entry = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.S).group(1))
    (clone / "mytasks.py").write_text(code)
    config = yaml.safe_load((clone / "config" / "config.yaml").read_text())
    config["targets"]["tasks"].update(entry)
    (clone / "config" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    env_path = "export PYTHONPATH=$PWD:$PYTHONPATH"  # "mytasks.py, anywhere on PYTHONPATH"
    plan = shell(f"{env_path}\nsnakemake --cores 2 results/targets/brightest/manifest.parquet -n", clone)
    assert plan.returncode == 0, plan.stdout[-3000:] + plan.stderr[-3000:]
    counts = job_counts(plan.stdout)
    assert counts["make_targets"] >= 1 and counts["target_manifest"] == 1, counts
    synth = next(c for c in COMMANDS if c.startswith("sgt synth"))
    world = shell("sgt toyworld --out results/data/toyworld --n-train 8 --n-val 2 --seed 0", clone)
    assert world.returncode == 0, world.stderr[-2000:]
    made = shell(f"{env_path}\n{synth}", clone)
    assert made.returncode == 0, made.stdout[-3000:] + made.stderr[-3000:]
    assert len(list((clone / "results/brightest/png").glob("*_target.png"))) == 8


def test_make_base_checkpoint_plans_only_the_base(clone: Path) -> None:
    """`make base-checkpoint` retrains for about 30 min: make's own dry run, then its snakemake line dry."""
    recipe = shell("make -n base-checkpoint", clone)
    assert recipe.returncode == 0, recipe.stderr
    line = next(x for x in recipe.stdout.splitlines() if "snakemake" in x)
    plan = shell(f"{line} -n", clone)
    assert plan.returncode == 0, plan.stdout[-2000:] + plan.stderr[-2000:]
    assert set(job_counts(plan.stdout)) <= {"toyworld", "validate_data", "vqa_train", "pretrain"}


def test_make_vlmeval_env_builds_from_the_env_file(clone: Path) -> None:
    """It needs conda and CUDA wheels (hours, and not here): make's dry run with a named conda shows both
    steps; with none on PATH it stops saying what to do, before touching anything."""
    recipe = shell("make -n vlmeval-env CONDA=conda", clone)
    assert recipe.returncode == 0, recipe.stderr
    assert "conda env update -p .envs/vlmeval -f envs/vlmeval.yaml" in recipe.stdout, recipe.stdout
    assert "conda run -p .envs/vlmeval python -m pip install --no-build-isolation flash-attn" in recipe.stdout
    missing = shell("make vlmeval-env CONDA=", clone)
    assert missing.returncode != 0 and "no conda or mamba on PATH" in missing.stderr, missing.stderr
    assert not (clone / ".envs").exists()


def test_the_hand_run_slurm_cluster_block(clone: Path) -> None:
    """docs/slurm.md's three lines: start a one-node cluster, plan through it (``-n``), stop it."""
    from sgt.testing.slurm_cluster import ensure_slurm

    reason = ensure_slurm(install=os.environ.get("SGT_SLURM_INSTALL", "1") != "0")
    if reason:
        pytest.skip(f"no local SLURM cluster: {reason}")
    plan = SLURM_TRY_PLAN
    stop = next(c for c in COMMANDS if "slurm_cluster stop" in c)
    try:
        result = shell(f"{SLURM_TRY}\n{plan} -n", clone, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        demo_plan(result, clone)
    finally:
        stopped = shell(stop, clone, timeout=300)
    assert stopped.returncode == 0, stopped.stderr[-2000:]


@pytest.mark.slow
def test_test_config_runs_end_to_end_then_has_nothing_to_do(tmp_path: Path, chromium: None) -> None:
    clone = clone_repo(tmp_path / "sgt-pipeline")
    command = ".venv/bin/snakemake --configfile config/test.yaml --cores 2"
    first = shell(command, clone, timeout=1800)
    assert first.returncode == 0, first.stderr[-5000:]
    table = pd.read_csv(clone / "results" / "tables" / "understanding.csv", index_col=0)
    assert list(table.index) == ["majority_answer", "base", "untrained", "sft_semantic"]
    assert {"toy_cvbench", "toy_vsr", "toy_pope", "toy_attribute", "Overall"} <= set(table.columns)
    assert table["Overall"].between(0, 100).all()
    gen = pd.read_csv(clone / "results" / "tables" / "generation.csv", index_col=0)
    assert "semantic/condition_gap" in gen.columns
    # the untrained floor: random weights, one row per trained variant and benchmark
    weights = clone / "results" / "models" / "tiny" / "untrained" / "seed0" / "model.safetensors"
    assert weights.is_file()
    separation = pd.read_csv(clone / "results" / "tables" / "separation.csv")
    assert set(separation["trained"]) == {"base", "sft_semantic"}
    assert set(separation["untrained"]) == {"untrained"}
    assert {"toy_cvbench", "Overall", "GenEval overall"} <= set(separation["benchmark"])
    second = shell(command, clone)
    assert second.returncode == 0
    assert "Nothing to be done" in second.stdout + second.stderr
    # its HTML report, opened in headless Chromium: every category, table, figure, finding and the config
    report = shell(".venv/bin/snakemake --configfile config/test.yaml --report results/report.html", clone)
    assert report.returncode == 0, report.stderr[-3000:]
    assert_report_shows_the_run(clone)


@pytest.mark.slow
def test_make_demo_then_the_readme_commands_that_follow_it(demo_clone: Path, chromium: None) -> None:
    """`make demo` for real, as README's first line (the session's demo_clone); then the report and what
    the README says follows."""
    clone = demo_clone
    for table in ("understanding", "generation", "table3", "table6", "table7"):
        assert (clone / "results" / "tables" / f"{table}.csv").is_file(), table
    again = shell(".venv/bin/snakemake -n", clone)
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr
    # an overlay that only spells out a default (as config/study.yaml does finetune.engine) retrains nothing
    (clone / "spelt.yaml").write_text("models: {tiny: {finetune: {engine: torch}}}\n")
    spelt = shell(".venv/bin/snakemake -n --configfile config/config.yaml spelt.yaml", clone)
    assert spelt.returncode == 0 and "Nothing to be done" in spelt.stdout + spelt.stderr, spelt.stdout[-3000:]
    for report in (
        ".venv/bin/snakemake --report results/report.html",
        "snakemake --report results/report.html",
    ):
        made = shell(report, clone)
        assert made.returncode == 0, made.stderr[-3000:]
        assert (clone / "results" / "report.html").stat().st_size > 100_000
    where = shell("sgt results", clone)
    assert where.returncode == 0 and "results/report.html" in where.stdout, where.stderr[-2000:]
    shot = shell("python -m sgt.report.screenshot results/report.html report.png", clone)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert (clone / "report.png").stat().st_size > 10_000
    # the README's two pictures, remade from this run's report
    before = {p: (clone / p).stat().st_mtime_ns for p in ("docs/report-table3.png", "docs/report-fig3a.png")}
    shots = shell("make screenshots", clone, timeout=300)
    assert shots.returncode == 0, shots.stdout[-2000:] + shots.stderr[-2000:]
    for png, mtime in before.items():
        assert (clone / png).stat().st_mtime_ns > mtime and (clone / png).stat().st_size > 20_000, png
