# Evaluation: embedded benchmarks from held-out toy-world images, then one eval job per trained model.


rule embedded_benchmark:
    input:
        ready=rules.validate_data.output[0],
    output:
        "results/eval/benchmarks/{bench}.tsv",
    log:
        "results/logs/eval/benchmarks/{bench}.log",
    benchmark:
        "results/benchmarks/eval/benchmarks/{bench}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("data")
    resources:
        **resources_for("data"),
    params:
        root=PLAN.data_root,
        split=PLAN.eval_split,
        per_image=setting("vqa/eval_per_image"),
        seed=config["seed"],
    script:
        "../scripts/embedded_benchmark.py"


rule majority_baseline:
    input:
        expand(rules.embedded_benchmark.output[0], bench=PLAN.benchmarks),
    output:
        "results/eval/baselines/majority_answer.csv",
    log:
        "results/logs/eval/majority_baseline.log",
    benchmark:
        "results/benchmarks/eval/majority_baseline.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        names=PLAN.benchmarks,
    script:
        "../scripts/baseline.py"


# The tiny model's GenEval runs in its evaluation job (one process pays the torch and transformers imports;
# each step loads the small checkpoint itself), so its files are outputs of `evaluate` only when eval.geneval.enabled.
EMBEDDED_GENEVAL = (
    {
        "geneval_csv": "results/eval/{model}/{variant}/geneval/seed{seed}.csv",
        "geneval_results": "results/eval/{model}/{variant}/geneval/seed{seed}/results.jsonl",
        "geneval_images": directory(
            "results/eval/{model}/{variant}/geneval/seed{seed}/images"
        ),
    }
    if config["eval"]["geneval"]["enabled"]
    else {}
)


rule evaluate:
    """The embedded benchmarks, the generation metrics and (eval.geneval.enabled) GenEval of one tiny run."""
    input:
        unpack(PLAN.eval_inputs),
    output:
        **EMBEDDED_GENEVAL,
        csv="results/eval/{model}/{variant}/seed{seed}.csv",
    log:
        "results/logs/eval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.embedded_eval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval")
    resources:
        **resources_for("eval"),
    params:
        benchmarks=lambda w, input: PLAN.bench_map(input.benchmarks),
        gen_shards=lambda w, input: PLAN.gen_shard_map(input),
        eval_cfg=setting("eval"),
        scene_aspect=PLAN.scene_aspect,
    script:
        "../scripts/evaluate.py"


rule checkout_vlmevalkit:
    output:
        directory("results/upstream/vlmevalkit"),
    log:
        "results/logs/eval/checkout_vlmevalkit.log",
    benchmark:
        "results/benchmarks/eval/checkout_vlmevalkit.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("checkout")
    resources:
        **resources_for("checkout"),
    params:
        url=setting("eval/vlmeval/upstream/url"),
        commit=setting("eval/vlmeval/upstream/commit"),
    script:
        "../scripts/checkout_upstream.py"


rule vlmeval_data:
    """VLMEvalKit's dataset TSVs, fetched on a CPU node into a shared LMUData with VLMEvalKit's own md5s, so
    the GPU jobs never download."""
    input:
        checkout=rules.checkout_vlmevalkit.output[0],
    output:
        "results/data/LMUData/manifest.json",
    log:
        "results/logs/eval/vlmeval_data.log",
    benchmark:
        "results/benchmarks/eval/vlmeval_data.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("download")
    resources:
        **resources_for("download"),
    params:
        datasets=setting("eval/vlmeval/datasets"),
        lmudata=lambda w, output: os.path.dirname(output[0]),
        commit=setting("eval/vlmeval/upstream/commit"),
        retry=setting("data/retry"),
    script:
        "../scripts/vlmeval_data.py"


rule vlmeval_model:
    """The folder VLMEvalKit's class for the backend loads (docs/backends.md): BAGEL's released files beside
    the run's EMA weights; OmniGen2's fine-tuned Qwen2.5-VL in its base folder's layout. A variant without a
    mix is the released model itself (no run): its files, linked.
    """
    input:
        unpack(PLAN.run_handoff),
        checkout=rules.checkout_upstream.output[0],
    output:
        directory("results/eval_models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/eval_models/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval_models/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.vlmeval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval_export")
    resources:
        **resources_for("eval_export"),
    params:
        model_cfg=PLAN.model_settings,
    script:
        "../scripts/vlmeval_model.py"


rule vlmeval:
    input:
        eval_model=rules.vlmeval_model.output[0],
        checkout=rules.checkout_vlmevalkit.output[0],
        lmudata=rules.vlmeval_data.output[0],
    output:
        "results/eval/{model}/{variant}/seed{seed}.csv",
    log:
        "results/logs/eval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.vlmeval_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("eval")
    resources:
        **resources_for("eval"),
    params:
        cfg=setting("eval/vlmeval"),
        workdir=lambda w: f"results/work/vlmeval/{w.model}/{w.variant}/seed{w.seed}",
        vlm_class=PLAN.vlmeval_class,
    script:
        "../scripts/vlmeval.py"


rule geneval_prompts:
    output:
        GENEVAL_METADATA,
    log:
        "results/logs/eval/geneval_prompts.log",
    benchmark:
        "results/benchmarks/eval/geneval_prompts.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        n_per_tag=setting("eval/geneval/n_per_tag"),
        seed=config["seed"],
    script:
        "../scripts/geneval_prompts.py"


rule checkout_dpg_bench:
    """ELLA at its pinned commit, for DPG-Bench's prompts and question graphs (dpg_bench/)."""
    output:
        directory("results/upstream/ella"),
    log:
        "results/logs/eval/checkout_dpg_bench.log",
    benchmark:
        "results/benchmarks/eval/checkout_dpg_bench.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("checkout")
    resources:
        **resources_for("checkout"),
    params:
        url=setting("eval/dpg/upstream/url"),
        commit=setting("eval/dpg/upstream/commit"),
        key="eval.dpg.upstream.commit",
    script:
        "../scripts/checkout_upstream.py"
