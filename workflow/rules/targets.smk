# Proxy-task targets: one job per (task, shard), then one manifest per task.


rule make_targets:
    input:
        unpack(shard_inputs),
    output:
        "results/{stage}/{task}/shard-{shard}.parquet",
    log:
        "results/logs/{stage}/{task}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/{stage}/{task}/shard-{shard}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/targets/threads")
    resources:
        mem_mb=grow("targets", "mem_mb"),
        runtime=grow("targets", "runtime"),
        gpu=setting("resources/targets/gpu"),
    params:
        root=DATA_ROOT,
        source=config["data"]["source"],
        data_options=DATA_OPTIONS,
        split=shard_split,
        task_cfg=lambda w: config["targets"]["tasks"][w.task],
        seed=config["seed"],
        subset_group=SHARED_SUBSET,
        version=setting("targets/version"),
    script:
        "../scripts/make_targets.py"


rule target_manifest:
    input:
        lambda w: target_shards(w.task),
    output:
        "results/targets/{task}/manifest.parquet",
    log:
        "results/logs/targets/{task}/manifest.log",
    benchmark:
        "results/benchmarks/targets/{task}/manifest.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/targets/threads")
    resources:
        mem_mb=grow("targets", "mem_mb"),
        runtime=grow("targets", "runtime"),
        gpu=setting("resources/targets/gpu"),
    script:
        "../scripts/target_manifest.py"
