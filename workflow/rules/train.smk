# Generative tuning: the base model is built once per model, then one fine-tune per (model, variant, seed).


rule pretrain:
    input:
        ready=data_ready(),
        vqa="results/vqa/train.jsonl",
    output:
        directory("results/models/{model}/base"),
    log:
        "results/logs/train/{model}/base.log",
    benchmark:
        "results/benchmarks/train/{model}/base.tsv"
    wildcard_constraints:
        model="|".join(TINY_MODELS) or "^$",
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/pretrain/threads", within=config)
    resources:
        mem_mb=grow("pretrain", "mem_mb"),
        runtime=grow("pretrain", "runtime"),
        gpu=lookup(dpath="resources/pretrain/gpu", within=config),
    params:
        root=DATA_ROOT,
        split=TRAIN_SPLIT,
        model_cfg=lambda w: config["models"][w.model],
        workdir=lambda w: f"results/work/{w.model}/base",
        seed=config["seed"],
    script:
        "../scripts/pretrain.py"


rule finetune:
    input:
        unpack(finetune_inputs),
    output:
        directory("results/models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/train/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(TINY_MODELS) or "^$",
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/train/threads", within=config)
    resources:
        mem_mb=grow("train", "mem_mb"),
        runtime=grow("train", "runtime"),
        gpu=lookup(dpath="resources/train/gpu", within=config),
    params:
        mix=variant_mix,
        task_shards=lambda w, input: task_shard_map(w, input),
        task_levels=lambda w: task_levels(),
        train_cfg=lambda w: config["models"][w.model].get("finetune", {}),
        workdir=lambda w: f"results/work/{w.model}/{w.variant}/seed{w.seed}",
    script:
        "../scripts/finetune.py"


rule checkout_upstream:
    output:
        directory("results/upstream/{model}"),
    log:
        "results/logs/train/{model}/checkout.log",
    benchmark:
        "results/benchmarks/train/{model}/checkout.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/download/threads", within=config)
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=lookup(dpath="resources/download/gpu", within=config),
    params:
        url=lambda w: config["models"][w.model]["upstream"]["url"],
        commit=lambda w: config["models"][w.model]["upstream"]["commit"],
    script:
        "../scripts/checkout_upstream.py"


rule backend_train:
    input:
        unpack(backend_train_inputs),
    output:
        directory("results/models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/train/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model="|".join(CLUSTER_MODELS) or "^$",
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/cluster_train/threads", within=config)
    resources:
        mem_mb=lambda w: config["models"][w.model].get("mem_mb", 256000),
        runtime=lambda w: config["models"][w.model].get("runtime_min", 1440),
        gpu=lambda w: config["models"][w.model].get("gpus", 8),
    params:
        model_cfg=lambda w: config["models"][w.model],
        mix=variant_mix,
        task_shards=lambda w, input: task_shard_map(w, input),
        workdir=lambda w: f"results/work/{w.model}/{w.variant}/seed{w.seed}",
    script:
        "../scripts/backend_train.py"
