# Training through the backend registry: the rules never know which model they run. A backend with
# needs_base (the tiny UMM) builds its base once; one train job per (model, variant, seed) for every backend.


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
        model=one_of(BASE_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/pretrain/threads")
    resources:
        mem_mb=grow("pretrain", "mem_mb"),
        runtime=grow("pretrain", "runtime"),
        gpu=setting("resources/pretrain/gpu"),
    params:
        root=DATA_ROOT,
        split=TRAIN_SPLIT,
        model_cfg=lambda w: config["models"][w.model],
        workdir=lambda w: f"results/work/{w.model}/base",
        seed=config["seed"],
    script:
        "../scripts/pretrain.py"


rule checkout_upstream:
    output:
        directory("results/upstream/{model}"),
    log:
        "results/logs/train/{model}/checkout.log",
    benchmark:
        "results/benchmarks/train/{model}/checkout.tsv"
    wildcard_constraints:
        model=one_of(UPSTREAM_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/download/threads")
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=setting("resources/download/gpu"),
    params:
        url=lambda w: config["models"][w.model]["upstream"]["url"],
        commit=lambda w: config["models"][w.model]["upstream"]["commit"],
        key=lambda w: f"models.{w.model}.upstream.commit",
    script:
        "../scripts/checkout_upstream.py"


rule export_training_data:
    input:
        unpack(mix_inputs),
    output:
        directory("results/export/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/export/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/export/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PREFLIGHT_MODELS),
        variant=one_of(v for v in VARIANTS if v not in UNTRAINED_VARIANTS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/preflight/threads")
    resources:
        mem_mb=grow("preflight", "mem_mb"),
        runtime=grow("preflight", "runtime"),
        gpu=setting("resources/preflight/gpu"),
    params:
        model_cfg=lambda w: config["models"][w.model],
        mix=variant_mix,
        pairs=lambda w: config["study"]["variants"][w.variant].get("pairs"),
        task_shards=task_shard_map,
        checkout=lambda w: f"results/upstream/{w.model}",
    script:
        "../scripts/export_training_data.py"


rule preflight:
    input:
        export="results/export/{model}/{variant}/seed{seed}",
        checkout="results/upstream/{model}",
    output:
        "results/preflight/{model}/{variant}/seed{seed}.json",
    log:
        "results/logs/preflight/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/preflight/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PREFLIGHT_MODELS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/preflight/threads")
    resources:
        mem_mb=grow("preflight", "mem_mb"),
        runtime=grow("preflight", "runtime"),
        gpu=setting("resources/preflight/gpu"),
    params:
        model_cfg=lambda w: config["models"][w.model],
        mix=variant_mix,
        workdir=lambda w: f"results/work/preflight/{run_path(w)}",
    script:
        "../scripts/preflight.py"


rule train:
    input:
        unpack(train_inputs),
    output:
        directory("results/models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/train/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        variant=one_of(v for v in VARIANTS if v not in UNTRAINED_VARIANTS),
    conda:
        "../../envs/sgt.yaml"
    threads: lambda w: train_resources(w).threads
    resources:
        mem_mb=lambda w, attempt: grown(train_resources(w).mem_mb, attempt),
        runtime=lambda w, attempt: grown(train_resources(w).runtime_min, attempt),
        gpu=lambda w: train_resources(w).gpus,
    params:
        model_cfg=lambda w: config["models"][w.model],
        mix=variant_mix,
        pairs=lambda w: config["study"]["variants"][w.variant].get("pairs"),
        # a preflight backend's train job reads the checked export, not the shards
        task_shards=lambda w: (
            {} if backend_of(w.model).preflights else task_shard_map(w)
        ),
        workdir=lambda w: f"results/work/{run_path(w)}",
    script:
        "../scripts/train.py"


rule untrained:
    output:
        directory("results/models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/train/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(BASE_MODELS),
        variant=one_of(UNTRAINED_VARIANTS),
    conda:
        "../../envs/sgt.yaml"
    threads: 1
    resources:
        mem_mb=grow("eval", "mem_mb"),
        runtime=grow("eval", "runtime"),
        gpu=0,
    params:
        model_cfg=lambda w: config["models"][w.model],
    script:
        "../scripts/untrained.py"
