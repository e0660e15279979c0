# Aggregation: the study's tables from every evaluation result.


rule tables:
    input:
        PLAN.eval_results(),
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
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        variants=["majority_answer", *PLAN.variants],
        labels={"majority_answer": "Majority answer (no image)"} | PLAN.variant_labels,
        reference=PLAN.sft_variant,
        run_name=config["run_name"],
    script:
        "../scripts/tables.py"


rule paper_tables:
    input:
        results=PLAN.eval_results(),
        reference=PLAN.reference_tables,
        benchmark_map=setting("report/benchmark_map"),
    output:
        **{
            f"{t}_{ext}": report(
                f"results/tables/{t}.{ext}",
                caption=f"../report/{t}.rst",
                category="Tables",
                subcategory=t,
                labels={"table": t, "format": ext},
            )
            for t in PLAN.paper_tables
            for ext in ("html", "csv", "md", "tex")
        },
    log:
        "results/logs/report/paper_tables.log",
    benchmark:
        "results/benchmarks/report/paper_tables.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        study=setting("study"),
        reference_dir=reference_dir,
        paper_model=setting("report/paper_model"),
    script:
        "../scripts/paper_tables.py"


rule figure:
    input:
        PLAN.figure_inputs,
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
        fig=one_of(PLAN.report_figures),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        plan=PLAN.figure_plan,
        metrics=PLAN.figure_metrics,
        results=PLAN.eval_results(),
        study=setting("study"),
        reference_dir=setting("report/reference_dir"),
        benchmark_map=setting("report/benchmark_map"),
        paper_model=setting("report/paper_model"),
    script:
        "../scripts/figure.py"


rule separation:
    input:
        results=PLAN.eval_results(),
        benchmark_map=setting("report/benchmark_map"),
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
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        study=setting("study"),
    script:
        "../scripts/separation.py"


rule findings:
    input:
        results=PLAN.eval_results(),
        analysis=PLAN.findings_analysis(),
        reference=PLAN.reference_tables,
        benchmark_map=setting("report/benchmark_map"),
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
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        study=setting("study"),
        levels=PLAN.task_levels,
        missing_figures=PLAN.missing_figures,
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
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        config=config,
    script:
        "../scripts/config_used.py"


rule training_table:
    input:
        lambda w: PLAN.study_runs(
            "results/models/{model}/{variant}/seed{seed}",
            models=[w.model],
            variants=PLAN.trained_variants,
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
        model=one_of(PLAN.embedded_eval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        labels=PLAN.variant_labels,
        order=PLAN.variants,
        recipe=lambda w: config["models"][w.model]["finetune"],
    script:
        "../scripts/training_table.py"
