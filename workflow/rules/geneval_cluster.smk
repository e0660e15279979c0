# GenEval of the cluster models (issue #22): each generated folder scored on a GPU node with GenEval's
# detector and rules (eval.cluster_geneval.scoring), then the generation seeds averaged into the tidy CSV the
# report reads (Tables 3 and 7, Fig. 3b), at the path the tiny model's `geneval` rule uses for its own.


rule score_geneval:
    """GenEval's evaluate_images.py on one folder of generated images: results.jsonl, one row per image."""
    input:
        images="results/generation/{model}/{variant}/seed{seed}/geneval/gseed{gseed}",
    output:
        "results/eval/{model}/{variant}/geneval/seed{seed}/gseed{gseed}/results.jsonl",
    log:
        "results/logs/eval/geneval/{model}/{variant}/seed{seed}/gseed{gseed}.log",
    benchmark:
        "results/benchmarks/eval/geneval/{model}/{variant}/seed{seed}/gseed{gseed}.tsv"
    wildcard_constraints:
        model="|".join(GENEVAL_DRAWING_MODELS) or "^$",
        gseed=r"\d+",
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/geneval_score/threads")
    resources:
        mem_mb=grow("geneval_score", "mem_mb"),
        runtime=grow("geneval_score", "runtime"),
        gpu=setting("resources/geneval_score/gpu"),
    params:
        cfg=setting("eval/cluster_geneval/scoring"),
    script:
        "../scripts/score_geneval.py"


rule average_geneval:
    """The mean over eval.cluster_geneval.seeds of one run's GenEval scores, each seed's own kept beside it."""
    input:
        unpack(cluster_geneval_results),
    output:
        "results/eval/{model}/{variant}/geneval/seed{seed}.csv",
    log:
        "results/logs/eval/geneval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/geneval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(GENEVAL_DRAWING_MODELS) or "^$",
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    script:
        "../scripts/average_geneval.py"
