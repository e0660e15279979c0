# Mechanism analyses (paper Sec. 4.4) of the cluster models: one GPU job per (model, variant, seed) measures
# Figs. 7, 8a and 8b in the tuned eval folder through the upstream model code (forward hooks, in the
# checkout); the per-model figures are rule analysis_figures' (analysis.smk), as for the tiny model.


rule analyse_cluster:
    input:
        unpack(PLAN.analysis_cluster_inputs),
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
        model=one_of(PLAN.analysed_cluster_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval")
    resources:
        **resources_for("eval"),
    params:
        root=PLAN.data_root,
        split=PLAN.eval_split,
        source=config["data"]["source"],
        scene_size=setting("data/toyworld"),
        cfg=config["analysis"],
        backend=lambda w: config["models"][w.model]["backend"],
        python=PLAN.analysis_cluster_python,
    script:
        "../scripts/analyse_cluster.py"
