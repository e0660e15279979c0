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
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/train/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/train/mem_mb", within=config),
        runtime=lookup(dpath="resources/train/runtime", within=config),
        gpu=lookup(dpath="resources/train/gpu", within=config),
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
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/train/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/train/mem_mb", within=config),
        runtime=lookup(dpath="resources/train/runtime", within=config),
        gpu=lookup(dpath="resources/train/gpu", within=config),
    params:
        mix=variant_mix,
        task_shards=lambda w, input: task_shard_map(w, input),
        task_levels=lambda w: task_levels(),
        train_cfg=lambda w: config["models"][w.model].get("finetune", {}),
        workdir=lambda w: f"results/work/{w.model}/{w.variant}/seed{w.seed}",
    script:
        "../scripts/finetune.py"
