# Depth estimation and the depth-consistency filter (appendix 7.1): a candidate pool per split, both
# estimators per (estimator, shard) of it, then the filter's kept/discarded table and its histogram.
# The depth and derain_dehaze targets read the target estimator's maps (see shard_inputs in common.smk).


rule depth_models:
    output:
        directory("results/depth/models/{estimator}"),
    log:
        "results/logs/depth/models/{estimator}.log",
    benchmark:
        "results/benchmarks/depth/models/{estimator}.tsv"
    wildcard_constraints:
        estimator=one_of(TINY_ESTIMATORS),
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/depth/threads")
    resources:
        mem_mb=grow("depth", "mem_mb"),
        runtime=grow("depth", "runtime"),
        gpu=0,
    params:
        kind=lambda w: DEPTH["estimators"][w.estimator]["kind"],
        seed=config["seed"],
    script:
        "../scripts/depth_models.py"


rule depth_pool:
    input:
        ready=data_ready(),
        subset="results/subsets/{split}.json",
    output:
        "results/depth/{split}/pool.json",
    log:
        "results/logs/depth/{split}/pool.log",
    benchmark:
        "results/benchmarks/depth/{split}/pool.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/targets/threads")
    resources:
        mem_mb=grow("targets", "mem_mb"),
        runtime=grow("targets", "runtime"),
        gpu=setting("resources/targets/gpu"),
    params:
        root=DATA_ROOT,
        group=SHARED_SUBSET,
        n_reserve=lambda w: depth_reserve(w.split),
        n_shards=lambda w: len(depth_pool_shards(w.split)),
        shard_size=setting("depth/shard_size"),
        seed=config["seed"],
    script:
        "../scripts/depth_pool.py"


rule depth_estimate:
    input:
        unpack(depth_estimate_inputs),
    output:
        "results/depth/{split}/estimates/{estimator}/shard-{shard}.npz",
    log:
        "results/logs/depth/{split}/estimates/{estimator}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/depth/{split}/estimates/{estimator}/shard-{shard}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/depth/threads")
    resources:
        mem_mb=grow("depth", "mem_mb"),
        runtime=grow("depth", "runtime"),
        gpu=setting("resources/depth/gpu"),
    params:
        root=DATA_ROOT,
        estimator=depth_estimator,
        seed=config["seed"],
        version=setting("depth/version"),
    script:
        "../scripts/depth_estimate.py"


rule depth_index:
    input:
        lambda w: depth_estimates(w.estimator, w.split),
    output:
        "results/depth/{split}/estimates/{estimator}/index.json",
    log:
        "results/logs/depth/{split}/estimates/{estimator}/index.log",
    localrule: True
    conda:
        "../../envs/sgt.yaml"
    script:
        "../scripts/depth_index.py"


rule depth_filter:
    input:
        pool="results/depth/{split}/pool.json",
        target=lambda w: depth_estimates(DEPTH["target"], w.split),
        reference=lambda w: depth_estimates(DEPTH["reference"], w.split),
    output:
        "results/depth/{split}/filter.parquet",
    log:
        "results/logs/depth/{split}/filter.log",
    benchmark:
        "results/benchmarks/depth/{split}/filter.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/targets/threads")
    resources:
        mem_mb=grow("targets", "mem_mb"),
        runtime=grow("targets", "runtime"),
        gpu=setting("resources/targets/gpu"),
    params:
        threshold=setting("depth/threshold"),
        max_depth=setting("depth/max_depth"),
        min_valid_fraction=setting("depth/min_valid_fraction"),
        seed=config["seed"],
        version=setting("depth/version"),
    script:
        "../scripts/depth_filter.py"


rule depth_histogram:
    input:
        "results/depth/{split}/filter.parquet",
    output:
        report(
            "results/depth/{split}/discrepancy.png",
            caption="../report/depth_discrepancy.rst",
            category="Depth",
            labels={"split": "{split}"},
        ),
    log:
        "results/logs/depth/{split}/histogram.log",
    benchmark:
        "results/benchmarks/depth/{split}/histogram.tsv"
    localrule: True
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/report/threads")
    resources:
        mem_mb=grow("report", "mem_mb"),
        runtime=grow("report", "runtime"),
        gpu=setting("resources/report/gpu"),
    params:
        threshold=setting("depth/threshold"),
        target=DEPTH["target"],
        reference=DEPTH["reference"],
    script:
        "../scripts/depth_histogram.py"
