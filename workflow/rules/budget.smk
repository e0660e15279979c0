# The run's budget beside its config in the report (sgt.budget, as `sgt budget` prints it before a run): the
# planned jobs' estimated hours next to the hours their benchmark files measured. It runs last, on the
# submitting host: its nested dry run needs the repository and Snakemake, not a GPU.


localrules:
    budget,


rule budget:
    input:
        config=rules.config_used.output[0],
        finished=PLAN.budgeted_outputs,
    output:
        md="results/report/budget.md",
        html=report(
            "results/report/budget.html",
            caption="../report/budget.rst",
            category="Config",
        ),
    log:
        "results/logs/report/budget.log",
    benchmark:
        "results/benchmarks/report/budget.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        repo=REPO,
    script:
        "../scripts/budget.py"
