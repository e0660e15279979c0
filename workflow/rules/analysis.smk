# Mechanism analyses (paper Sec. 4.4) of tiny-backend models: one job per (model, variant, seed), then
# Figs. 7, 8a and 8b per model from the variants in analysis.compare (cluster models' jobs: analysis_cluster.smk).


rule analyse:
    input:
        unpack(PLAN.analysis_inputs),
    output:
        tsne="results/analysis/{model}/{variant}/seed{seed}/tsne.csv",
        probe="results/analysis/{model}/{variant}/seed{seed}/probe.csv",
        visual_attention="results/analysis/{model}/{variant}/seed{seed}/visual_attention.csv",
        prompt_attention="results/analysis/{model}/{variant}/seed{seed}/prompt_attention.csv",
    log:
        "results/logs/analysis/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/analysis/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.embedded_eval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("analysis")
    resources:
        **resources_for("analysis"),
    params:
        root=PLAN.data_root,
        split=PLAN.eval_split,
        source=config["data"]["source"],
        scene_size=setting("data/toyworld"),
        cfg=config["analysis"],
        sampling_steps=config["eval"]["sampling_steps"],
    script:
        "../scripts/analyse.py"


rule analysis_figures:
    input:
        unpack(PLAN.analysis_figure_inputs),
    output:
        probe=report(
            "results/analysis/{model}/probe.csv",
            caption="../report/fig7_probe.rst",
            category="Figures",
            subcategory="Mechanism (Sec. 4.4)",
            labels={"model": "{model}", "figure": "Fig. 7 probe"},
        ),
        visual_attention="results/analysis/{model}/visual_attention.csv",
        prompt_attention="results/analysis/{model}/prompt_attention.csv",
        fig7_png=report(
            "results/figures/{model}/fig7_tsne.png",
            caption="../report/fig7_tsne.rst",
            category="Figures",
            subcategory="Mechanism (Sec. 4.4)",
            labels={"model": "{model}", "figure": "Fig. 7"},
        ),
        fig7_pdf="results/figures/{model}/fig7_tsne.pdf",
        fig8a_png=report(
            "results/figures/{model}/fig8a_visual_attention.png",
            caption="../report/fig8a_visual_attention.rst",
            category="Figures",
            subcategory="Mechanism (Sec. 4.4)",
            labels={"model": "{model}", "figure": "Fig. 8a"},
        ),
        fig8a_pdf="results/figures/{model}/fig8a_visual_attention.pdf",
        fig8b_png=report(
            "results/figures/{model}/fig8b_prompt_attention.png",
            caption="../report/fig8b_prompt_attention.rst",
            category="Figures",
            subcategory="Mechanism (Sec. 4.4)",
            labels={"model": "{model}", "figure": "Fig. 8b"},
        ),
        fig8b_pdf="results/figures/{model}/fig8b_prompt_attention.pdf",
        notes=report(
            "results/analysis/{model}/notes.csv",
            caption="../report/analysis_notes.rst",
            category="Figures",
            subcategory="Mechanism (Sec. 4.4)",
            labels={"model": "{model}", "figure": "Figs. 7-8 notes"},
        ),
    log:
        "results/logs/analysis/{model}/figures.log",
    benchmark:
        "results/benchmarks/analysis/{model}/figures.tsv"
    wildcard_constraints:
        model=one_of(PLAN.analysed_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        compare=config["analysis"]["compare"],
        labels=PLAN.variant_labels,
    script:
        "../scripts/analysis_figures.py"
