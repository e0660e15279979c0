# Aggregation: the study's tables from every evaluation result.


rule tables:
    input:
        eval_results(),
    output:
        understanding=report(
            "results/tables/understanding.csv",
            caption="../report/understanding.rst",
            category="Tables",
        ),
        understanding_md="results/tables/understanding.md",
        generation=report(
            "results/tables/generation.csv",
            caption="../report/generation.rst",
            category="Tables",
        ),
        generation_md="results/tables/generation.md",
        condition_use=report(
            "results/tables/condition_use.csv",
            caption="../report/condition_use.rst",
            category="Tables",
        ),
        condition_use_md="results/tables/condition_use.md",
    log:
        "results/logs/report/tables.log",
    benchmark:
        "results/benchmarks/report/tables.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        variants=["majority_answer", *VARIANTS],
        labels=lambda w: {"majority_answer": "Majority answer (no image)"}
        | {v: s.get("label", v) for v, s in config["study"]["variants"].items()},
        reference=SFT_VARIANT,
        run_name=config["run_name"],
    script:
        "../scripts/tables.py"


rule paper_tables:
    input:
        results=eval_results(),
        reference=REFERENCE_TABLES,
        benchmark_map=BENCHMARK_MAP,
    output:
        **{
            f"{t}_{ext}": report(
                f"results/tables/{t}.{ext}",
                caption=f"../report/{t}.rst",
                category="Tables",
                subcategory=t,
                labels={"table": t, "format": ext},
            )
            for t in PAPER_TABLES
            for ext in ("html", "csv", "md", "tex")
        },
    log:
        "results/logs/report/paper_tables.log",
    benchmark:
        "results/benchmarks/report/paper_tables.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        study=setting("study"),
        reference_dir=reference_dir,
        paper_model=setting("report/paper_model"),
    script:
        "../scripts/paper_tables.py"


rule figure:
    input:
        figure_inputs,
    output:
        png=report(
            "results/figures/{fig}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{fig}"},
        ),
        pdf="results/figures/{fig}.pdf",
        data="results/figures/{fig}.csv",
    log:
        "results/logs/report/{fig}.log",
    benchmark:
        "results/benchmarks/report/{fig}.tsv"
    wildcard_constraints:
        fig=one_of(report_figures()),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        plan=figure_plan,
        metrics=figure_metrics,
        results=eval_results(),
        study=setting("study"),
        reference_dir=setting("report/reference_dir"),
        benchmark_map=setting("report/benchmark_map"),
        paper_model=setting("report/paper_model"),
    script:
        "../scripts/figure.py"


rule separation:
    input:
        results=eval_results(),
        benchmark_map=BENCHMARK_MAP,
    output:
        csv="results/tables/separation.csv",
        md=report(
            "results/tables/separation.md",
            caption="../report/separation.rst",
            category="Tables",
        ),
    log:
        "results/logs/report/separation.log",
    benchmark:
        "results/benchmarks/report/separation.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        study=setting("study"),
    script:
        "../scripts/separation.py"


rule findings:
    input:
        results=eval_results(),
        analysis=findings_analysis(),
        reference=REFERENCE_TABLES,
        benchmark_map=BENCHMARK_MAP,
    output:
        md="results/report/findings.md",
        html=report(
            "results/report/findings.html",
            caption="../report/findings.rst",
            category="Findings",
        ),
    log:
        "results/logs/report/findings.log",
    benchmark:
        "results/benchmarks/report/findings.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        study=setting("study"),
        levels=task_levels(),
        missing_figures=missing_figures(),
        run_name=config["run_name"],
    script:
        "../scripts/findings.py"


rule config_used:
    output:
        report(
            "results/report/config.yaml",
            caption="../report/config.rst",
            category="Config",
        ),
    log:
        "results/logs/report/config_used.log",
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        config=config,
    script:
        "../scripts/config_used.py"


rule training_table:
    input:
        lambda w: study_runs(
            "results/models/{model}/{variant}/seed{seed}",
            models=[w.model],
            variants=TRAINED_VARIANTS,
        ),
    output:
        csv=report(
            "results/tables/training/{model}.csv",
            caption="../report/training.rst",
            category="Tables",
        ),
        md="results/tables/training/{model}.md",
    log:
        "results/logs/report/training_{model}.log",
    benchmark:
        "results/benchmarks/report/training_{model}.tsv"
    wildcard_constraints:
        model=one_of(TINY_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        labels=lambda w: {
            v: s.get("label", v) for v, s in config["study"]["variants"].items()
        },
        order=VARIANTS,
        recipe=lambda w: config["models"][w.model]["finetune"],
    script:
        "../scripts/training_table.py"
