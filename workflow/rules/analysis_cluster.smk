# Mechanism analyses (paper Sec. 4.4) of the cluster models: one GPU job per (model, variant, seed) measures
# Figs. 7, 8a and 8b in the tuned eval folder through the upstream model code (forward hooks, in the
# checkout); the per-model figures are rule analysis_figures' (analysis.smk), as for the tiny model.


rule analyse_cluster:
    input:
        unpack(analysis_cluster_inputs),
    output:
        tsne="results/analysis/{model}/{variant}/seed{seed}/tsne.csv",
        probe="results/analysis/{model}/{variant}/seed{seed}/probe.csv",
        visual_attention="results/analysis/{model}/{variant}/seed{seed}/visual_attention.csv",
        prompt_attention="results/analysis/{model}/{variant}/seed{seed}/prompt_attention.csv",
        notes="results/analysis/{model}/{variant}/seed{seed}/notes.csv",
    log:
        "results/logs/analysis/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/analysis/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(ANALYSED_CLUSTER_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/eval/threads")
    resources:
        mem_mb=grow("eval", "mem_mb"),
        runtime=grow("eval", "runtime"),
        gpu=setting("resources/eval/gpu"),
    params:
        root=DATA_ROOT,
        split=EVAL_SPLIT,
        source=config["data"]["source"],
        scene_size=setting("data/toyworld"),
        cfg=config["analysis"],
        backend=lambda w: config["models"][w.model]["backend"],
        python=analysis_cluster_python,
    script:
        "../scripts/analyse_cluster.py"
