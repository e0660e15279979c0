# Depth estimation and the depth-consistency filter (appendix 7.1): a candidate pool per split, both
# estimators per (estimator, shard) of it, then the filter's kept/discarded table and its histogram.
# The depth and derain_dehaze targets read the target estimator's maps (sgt.plan's shard_inputs).


rule depth_models:
    output:
        directory("results/depth/models/{estimator}"),
    log:
        "results/logs/depth/models/{estimator}.log",
    benchmark:
        "results/benchmarks/depth/models/{estimator}.tsv"
    wildcard_constraints:
        estimator=one_of(PLAN.tiny_estimators),
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("depth_models")
    resources:
        **resources_for("depth_models"),
    params:
        kind=lambda w: config["depth"]["estimators"][w.estimator]["kind"],
        seed=config["seed"],
    script:
        "../scripts/depth_models.py"


rule depth_pool:
    input:
        ready=rules.validate_data.output[0],
        subset=rules.subset.output[0],
    output:
        "results/depth/{split}/pool.json",
    log:
        "results/logs/depth/{split}/pool.log",
    benchmark:
        "results/benchmarks/depth/{split}/pool.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("targets")
    resources:
        **resources_for("targets"),
    params:
        root=PLAN.data_root,
        group=PLAN.shared_subset,
        n_reserve=lambda w: PLAN.depth_reserve(w.split),
        n_shards=lambda w: len(PLAN.depth_pool_shards(w.split)),
        shard_size=setting("depth/shard_size"),
        seed=config["seed"],
    script:
        "../scripts/depth_pool.py"


rule depth_estimate:
    input:
        unpack(PLAN.depth_estimate_inputs),
    output:
        "results/depth/{split}/estimates/{estimator}/shard-{shard}.npz",
    log:
        "results/logs/depth/{split}/estimates/{estimator}/shard-{shard}.log",
    benchmark:
        "results/benchmarks/depth/{split}/estimates/{estimator}/shard-{shard}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("depth")
    resources:
        **resources_for("depth"),
    params:
        root=PLAN.data_root,
        estimator=PLAN.depth_estimator,
        seed=config["seed"],
        version=setting("depth/version"),
    script:
        "../scripts/depth_estimate.py"


rule depth_index:
    input:
        lambda w: PLAN.depth_estimates(w.estimator, w.split),
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
        pool=rules.depth_pool.output[0],
        target=lambda w: PLAN.depth_estimates(setting("depth/target"), w.split),
        reference=lambda w: PLAN.depth_estimates(setting("depth/reference"), w.split),
    output:
        "results/depth/{split}/filter.parquet",
    log:
        "results/logs/depth/{split}/filter.log",
    benchmark:
        "results/benchmarks/depth/{split}/filter.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("targets")
    resources:
        **resources_for("targets"),
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
        rules.depth_filter.output[0],
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
    threads: threads_for("report")
    resources:
        **resources_for("report"),
    params:
        threshold=setting("depth/threshold"),
        target=setting("depth/target"),
        reference=setting("depth/reference"),
    script:
        "../scripts/depth_histogram.py"
