# Evaluation: embedded benchmarks from held-out toy-world images, then one eval job per trained model.


rule embedded_benchmark:
    input:
        ready=data_ready(),
    output:
        "results/eval/benchmarks/{bench}.tsv",
    log:
        "results/logs/eval/benchmarks/{bench}.log",
    benchmark:
        "results/benchmarks/eval/benchmarks/{bench}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/data/threads")
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=setting("resources/data/gpu"),
    params:
        root=DATA_ROOT,
        split=EVAL_SPLIT,
        per_image=setting("vqa/eval_per_image"),
        seed=config["seed"],
    script:
        "../scripts/embedded_benchmark.py"


rule majority_baseline:
    input:
        expand("results/eval/benchmarks/{bench}.tsv", bench=BENCHMARKS),
    output:
        "results/eval/baselines/majority_answer.csv",
    log:
        "results/logs/eval/majority_baseline.log",
    benchmark:
        "results/benchmarks/eval/majority_baseline.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        names=BENCHMARKS,
    script:
        "../scripts/baseline.py"


rule evaluate:
    input:
        unpack(eval_inputs),
    output:
        "results/eval/{model}/{variant}/seed{seed}.csv",
    log:
        "results/logs/eval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(EMBEDDED_EVAL_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/eval/threads")
    resources:
        mem_mb=grow("eval", "mem_mb"),
        runtime=grow("eval", "runtime"),
        gpu=setting("resources/eval/gpu"),
    params:
        benchmarks=lambda w, input: bench_map(input),
        gen_shards=lambda w, input: gen_shard_map(input),
        eval_cfg=setting("eval"),
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
    threads: setting("resources/download/threads")
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=setting("resources/download/gpu"),
    params:
        url=setting("eval/vlmeval/upstream/url"),
        commit=setting("eval/vlmeval/upstream/commit"),
    script:
        "../scripts/checkout_upstream.py"


rule vlmeval_data:
    """VLMEvalKit's dataset TSVs, fetched on a CPU node into a shared LMUData with VLMEvalKit's own md5s, so
    the GPU jobs never download."""
    input:
        checkout="results/upstream/vlmevalkit",
    output:
        "results/data/LMUData/manifest.json",
    log:
        "results/logs/eval/vlmeval_data.log",
    benchmark:
        "results/benchmarks/eval/vlmeval_data.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/download/threads")
    resources:
        mem_mb=grow("download", "mem_mb"),
        runtime=grow("download", "runtime"),
        gpu=setting("resources/download/gpu"),
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
        unpack(run_handoff),
        checkout="results/upstream/{model}",
    output:
        directory("results/eval_models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/eval_models/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval_models/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(VLMEVAL_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/eval_export/threads")
    resources:
        mem_mb=grow("eval_export", "mem_mb"),
        runtime=grow("eval_export", "runtime"),
        gpu=setting("resources/eval_export/gpu"),
    params:
        model_cfg=lambda w: config["models"][w.model],
    script:
        "../scripts/vlmeval_model.py"


rule vlmeval:
    input:
        eval_model="results/eval_models/{model}/{variant}/seed{seed}",
        checkout="results/upstream/vlmevalkit",
        lmudata="results/data/LMUData/manifest.json",
    output:
        "results/eval/{model}/{variant}/seed{seed}.csv",
    log:
        "results/logs/eval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(VLMEVAL_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/eval/threads")
    resources:
        mem_mb=grow("eval", "mem_mb"),
        runtime=grow("eval", "runtime"),
        gpu=setting("resources/eval/gpu"),
    params:
        cfg=setting("eval/vlmeval"),
        workdir=lambda w: f"results/work/vlmeval/{w.model}/{w.variant}/seed{w.seed}",
        vlm_class=vlmeval_class,
    script:
        "../scripts/vlmeval.py"


rule geneval_prompts:
    output:
        "results/eval/geneval/evaluation_metadata.jsonl",
    log:
        "results/logs/eval/geneval_prompts.log",
    benchmark:
        "results/benchmarks/eval/geneval_prompts.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        n_per_tag=setting("eval/geneval/n_per_tag"),
        seed=config["seed"],
    script:
        "../scripts/geneval_prompts.py"


rule geneval:
    input:
        model=model_dir,
        metadata="results/eval/geneval/evaluation_metadata.jsonl",
    output:
        csv="results/eval/{model}/{variant}/geneval/seed{seed}.csv",
        results="results/eval/{model}/{variant}/geneval/seed{seed}/results.jsonl",
        images=directory("results/eval/{model}/{variant}/geneval/seed{seed}/images"),
    log:
        "results/logs/eval/geneval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/geneval/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(TINY_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/eval/threads")
    resources:
        mem_mb=grow("eval", "mem_mb"),
        runtime=grow("eval", "runtime"),
        gpu=setting("resources/eval/gpu"),
    params:
        cfg=setting("eval/geneval"),
        scene_aspect=SCENE_ASPECT,
    script:
        "../scripts/geneval.py"


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
    threads: setting("resources/download/threads")
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=setting("resources/download/gpu"),
    params:
        url=setting("eval/dpg/upstream/url"),
        commit=setting("eval/dpg/upstream/commit"),
        key="eval.dpg.upstream.commit",
    script:
        "../scripts/checkout_upstream.py"
