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
    log:
        "results/logs/report/tables.log",
    benchmark:
        "results/benchmarks/report/tables.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/report/threads", within=config)
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=lookup(dpath="resources/report/gpu", within=config),
    params:
        variants=["majority_answer", *VARIANTS],
        labels=lambda w: {"majority_answer": "Majority answer (no image)"}
        | {v: s.get("label", v) for v, s in config["study"]["variants"].items()},
        run_name=config["run_name"],
    script:
        "../scripts/tables.py"
