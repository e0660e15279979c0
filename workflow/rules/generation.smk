# Benchmark images from the tuned cluster models, drawn by their checkouts' own inference code (issue #22);
# scoring rules read the published folders. docs/backends.md, "Generation on the cluster".


rule checkout_geneval:
    """GenEval (djghosh13/geneval) at its pinned commit: the 553 prompts of prompts/evaluation_metadata.jsonl
    for the backends whose checkout has no copy (OmniGen2)."""
    output:
        directory("results/upstream/geneval"),
    log:
        "results/logs/generation/checkout_geneval.log",
    benchmark:
        "results/benchmarks/generation/checkout_geneval.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("checkout")
    resources:
        **resources_for("checkout"),
    params:
        url=setting("eval/cluster_geneval/upstream/url"),
        commit=setting("eval/cluster_geneval/upstream/commit"),
        key="eval.cluster_geneval.upstream.commit",
    script:
        "../scripts/checkout_upstream.py"


rule generation_model:
    """The model folder a backend's inference code loads when the eval folder is not it (OmniGen2: the
    released pipeline linked, with the run's transformer and fine-tuned MLLM); links, no weight copies.
    """
    input:
        unpack(PLAN.run_handoff),
        eval_model=rules.vlmeval_model.output[0],
        checkout=rules.checkout_upstream.output[0],
    output:
        directory("results/generation_models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/generation_models/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/generation_models/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.own_folder_drawing_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval_export")
    resources:
        **resources_for("eval_export"),
    params:
        model_cfg=PLAN.model_settings,
    script:
        "../scripts/generation_model.py"


rule generate_geneval:
    """GenEval's 553 prompts x 4 images from a tuned cluster model, by its checkout's own code, seeded;
    resumable (finished prompts stay in the work folder), published once every prompt has its images.
    """
    input:
        unpack(PLAN.draw_inputs("geneval")),
        model=PLAN.drawing_model,
        checkout=rules.checkout_upstream.output[0],
    output:
        directory(
            "results/generation/{model}/{variant}/seed{seed}/geneval/gseed{gseed}"
        ),
    log:
        "results/logs/generation/{model}/{variant}/seed{seed}/geneval/gseed{gseed}.log",
    benchmark:
        "results/benchmarks/generation/{model}/{variant}/seed{seed}/geneval/gseed{gseed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.drawing_models["geneval"]),
        gseed=r"\d+",
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval")
    resources:
        **resources_for("eval"),
    params:
        model_cfg=PLAN.model_settings,
        benchmark="geneval",
        settings=PLAN.draw_settings("geneval"),
        workdir=lambda w: f"results/work/generation/{w.model}/{w.variant}/seed{w.seed}/geneval/gseed{w.gseed}",
    script:
        "../scripts/generate.py"


rule gedit_dataset:
    """GEdit-Bench once, on a CPU node with internet: the hub cache gen_images_gedit.py's
    load_dataset("stepfun-ai/GEdit-Bench") reads offline, plus an index and the input images.
    """
    output:
        directory("results/data/gedit"),
    log:
        "results/logs/generation/gedit_dataset.log",
    benchmark:
        "results/benchmarks/generation/gedit_dataset.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("checkout")
    resources:
        **resources_for("checkout"),
    params:
        source=setting("eval/cluster_gedit/dataset"),
        revision=setting("eval/cluster_gedit/revision"),
    script:
        "../scripts/gedit_dataset.py"


rule generate_gedit:
    """GEdit-Bench edits from a tuned cluster model by its checkout's own code, in gen_images_gedit.py's layout
    plus a root metadata.jsonl; resumable, published once every item has its images.
    """
    input:
        unpack(PLAN.draw_inputs("gedit")),
        model=PLAN.drawing_model,
        checkout=rules.checkout_upstream.output[0],
    output:
        directory("results/generation/{model}/{variant}/seed{seed}/gedit"),
    log:
        "results/logs/generation/{model}/{variant}/seed{seed}/gedit.log",
    benchmark:
        "results/benchmarks/generation/{model}/{variant}/seed{seed}/gedit.tsv"
    wildcard_constraints:
        model=one_of(PLAN.drawing_models["gedit"]),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval")
    resources:
        **resources_for("eval"),
    params:
        model_cfg=PLAN.model_settings,
        benchmark="gedit",
        settings=PLAN.draw_settings("gedit"),
        workdir=lambda w: f"results/work/generation/{w.model}/{w.variant}/seed{w.seed}/gedit",
    script:
        "../scripts/generate.py"


rule generate_dpg:
    """DPG-Bench's prompts through a backend's GenEval-style launch, tiled into ELLA's <item_id>.png 2x2 grids;
    resumable, published once every prompt has its samples.
    """
    input:
        unpack(PLAN.draw_inputs("dpg")),
        model=PLAN.drawing_model,
        checkout=rules.checkout_upstream.output[0],
    output:
        directory("results/generation/{model}/{variant}/seed{seed}/dpg"),
    log:
        "results/logs/generation/{model}/{variant}/seed{seed}/dpg.log",
    benchmark:
        "results/benchmarks/generation/{model}/{variant}/seed{seed}/dpg.tsv"
    wildcard_constraints:
        model=one_of(PLAN.drawing_models["dpg"]),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval")
    resources:
        **resources_for("eval"),
    params:
        model_cfg=PLAN.model_settings,
        benchmark="dpg",
        settings=PLAN.draw_settings("dpg"),
        workdir=lambda w: f"results/work/generation/{w.model}/{w.variant}/seed{w.seed}/dpg",
    script:
        "../scripts/generate.py"
