# Training through the backend registry: the rules never know which model they run. A backend with
# needs_base (the tiny UMM) builds its base once; one train job per (model, variant, seed) for every backend.


rule pretrain:
    input:
        ready=rules.validate_data.output[0],
        vqa=rules.vqa_train.output[0],
    output:
        directory("results/models/{model}/base"),
    log:
        "results/logs/train/{model}/base.log",
    benchmark:
        "results/benchmarks/train/{model}/base.tsv"
    wildcard_constraints:
        model=one_of(PLAN.base_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("pretrain")
    resources:
        **resources_for("pretrain"),
    params:
        root=PLAN.data_root,
        split=PLAN.train_split,
        model_cfg=PLAN.model_settings,
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
        model=one_of(PLAN.upstream_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("checkout")
    resources:
        **resources_for("checkout"),
    params:
        url=lambda w: config["models"][w.model]["upstream"]["url"],
        commit=lambda w: config["models"][w.model]["upstream"]["commit"],
        key=lambda w: f"models.{w.model}.upstream.commit",
    script:
        "../scripts/checkout_upstream.py"


rule export_training_data:
    input:
        unpack(PLAN.mix_inputs),
    output:
        directory("results/export/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/export/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/export/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.preflight_models),
        variant=one_of(PLAN.tuned_variants),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("preflight")
    resources:
        **resources_for("preflight"),
    params:
        model_cfg=PLAN.model_settings,
        mix=PLAN.variant_mix,
        pairs=lambda w: config["study"]["variants"][w.variant].get("pairs"),
        task_shards=PLAN.task_shard_map,
        checkout=lambda w: f"results/upstream/{w.model}",
    script:
        "../scripts/export_training_data.py"


rule preflight:
    input:
        export=rules.export_training_data.output[0],
        checkout=rules.checkout_upstream.output[0],
    output:
        "results/preflight/{model}/{variant}/seed{seed}.json",
    log:
        "results/logs/preflight/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/preflight/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        model=one_of(PLAN.preflight_models),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("preflight")
    resources:
        **resources_for("preflight"),
    params:
        model_cfg=PLAN.model_settings,
        mix=PLAN.variant_mix,
        workdir=lambda w: f"results/work/preflight/{run_path(w)}",
    script:
        "../scripts/preflight.py"


rule train:
    input:
        unpack(PLAN.train_inputs),
    output:
        directory("results/models/{model}/{variant}/seed{seed}"),
    log:
        "results/logs/train/{model}/{variant}/seed{seed}.log",
    benchmark:
        "results/benchmarks/train/{model}/{variant}/seed{seed}.tsv"
    wildcard_constraints:
        variant=one_of(PLAN.tuned_variants),
    conda:
        "../../envs/sgt.yaml"
    threads: lambda w: PLAN.train_job(w).threads
    resources:
        mem_mb=lambda w, attempt: grown(PLAN.train_job(w).mem_mb, attempt),
        runtime=lambda w, attempt: grown(PLAN.train_job(w).runtime_min, attempt),
        gpu=lambda w: PLAN.train_job(w).gpus,
    params:
        model_cfg=PLAN.model_settings,
        mix=PLAN.variant_mix,
        pairs=lambda w: config["study"]["variants"][w.variant].get("pairs"),
        # a preflight backend's train job reads the checked export, not the shards
        task_shards=lambda w: (
            {} if PLAN.backend(w.model).preflights else PLAN.task_shard_map(w)
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
        model=one_of(PLAN.base_models),
        variant=one_of(PLAN.untrained_variants),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("untrained")
    resources:
        **resources_for("untrained"),
    params:
        model_cfg=PLAN.model_settings,
    script:
        "../scripts/untrained.py"
