# Proxy-task targets: one job per (task, shard), then one manifest per task.


rule make_targets:
    input:
        unpack(PLAN.shard_inputs),
    output:
        "results/{stage}/{task}/shard-{shard}.parquet",
    log:
        "results/logs/{stage}/{task}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/{stage}/{task}/shard-{shard}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("targets")
    resources:
        **resources_for("targets"),
    params:
        root=PLAN.data_root,
        source=config["data"]["source"],
        data_options=PLAN.data_options,
        split=lambda w: PLAN.split_of(w.stage),
        task_cfg=lambda w: config["targets"]["tasks"][w.task],
        seed=config["seed"],
        subset_group=PLAN.shared_subset,
        version=setting("targets/version"),
    script:
        "../scripts/make_targets.py"


rule target_manifest:
    input:
        lambda w: PLAN.target_shards(w.task),
    output:
        "results/targets/{task}/manifest.parquet",
    log:
        "results/logs/targets/{task}/manifest.log",
    benchmark:
        "results/benchmarks/targets/{task}/manifest.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("targets")
    resources:
        **resources_for("targets"),
    script:
        "../scripts/target_manifest.py"
