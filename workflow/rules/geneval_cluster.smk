# GenEval of the cluster models (issue #22): every generation seed's folder of a run scored in one GPU job with
# GenEval's detector and rules (eval.cluster_geneval.scoring), the detector loaded once, then the seeds averaged
# into the tidy CSV the report reads (Tables 3 and 7, Fig. 3b), at the path the tiny model's `geneval` rule
# uses for its own. Each seed's results.jsonl stays beside it; a requeued job keeps those still valid.


rule score_geneval:
    """GenEval's evaluate_images.py on each generation seed's folder (results.jsonl, one row per image),
    then the mean over eval.cluster_geneval.seeds."""
    input:
        unpack(PLAN.cluster_geneval_folders),
    output:
        "results/eval/{model}/{variant}/geneval/seed{seed}.csv",
    log:
        "results/logs/eval/geneval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/geneval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.drawing_models["geneval"]),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("geneval_score")
    resources:
        **resources_for("geneval_score"),
    params:
        cfg=setting("eval/cluster_geneval/scoring"),
        scores=lambda wildcards, output: output[0].removesuffix(".csv"),
    script:
        "../scripts/score_geneval.py"
