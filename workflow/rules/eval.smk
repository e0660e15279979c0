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
    threads: lookup(dpath="resources/data/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/data/mem_mb", within=config),
        runtime=lookup(dpath="resources/data/runtime", within=config),
        gpu=lookup(dpath="resources/data/gpu", within=config),
    params:
        root=DATA_ROOT,
        split=EVAL_SPLIT,
        per_image=lookup(dpath="vqa/eval_per_image", within=config),
        seed=config["seed"],
    script:
        "../scripts/embedded_benchmark.py"


rule evaluate:
    input:
        unpack(eval_inputs),
    output:
        "results/eval/{model}/{variant}/seed{seed}.csv",
    log:
        "results/logs/eval/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/eval/{model}/{variant}/seed{seed}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/eval/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/eval/mem_mb", within=config),
        runtime=lookup(dpath="resources/eval/runtime", within=config),
        gpu=lookup(dpath="resources/eval/gpu", within=config),
    params:
        benchmarks=lambda w, input: bench_map(input),
        gen_shards=lambda w, input: gen_shard_map(input),
        eval_cfg=lookup(dpath="eval", within=config),
    script:
        "../scripts/evaluate.py"
