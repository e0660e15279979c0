# Data: the embedded toy world (or a COCO 2017 root), its validation, image subsets and VQA data.


if config["data"]["source"] == "toyworld":

    rule toyworld:
        output:
            directory(DATA_ROOT),
        log:
            "results/logs/data/toyworld.log",
        benchmark:
            "results/benchmarks/data/toyworld.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: lookup(dpath="resources/data/threads", within=config)
        resources:
            mem_mb=lookup(dpath="resources/data/mem_mb", within=config),
            runtime=lookup(dpath="resources/data/runtime", within=config),
            gpu=lookup(dpath="resources/data/gpu", within=config),
        params:
            spec=lookup(dpath="data/toyworld", within=config),
            seed=config["seed"],
        script:
            "../scripts/toyworld.py"


rule validate_data:
    input:
        root=DATA_ROOT,
    output:
        "results/data/validated.json",
    log:
        "results/logs/data/validate_data.log",
    benchmark:
        "results/benchmarks/data/validate_data.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/data/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/data/mem_mb", within=config),
        runtime=lookup(dpath="resources/data/runtime", within=config),
        gpu=lookup(dpath="resources/data/gpu", within=config),
    params:
        splits=[TRAIN_SPLIT, EVAL_SPLIT],
    script:
        "../scripts/validate_data.py"


rule subset:
    input:
        ready=data_ready(),
    output:
        "results/subsets/{split}.json",
    log:
        "results/logs/data/subset_{split}.log",
    benchmark:
        "results/benchmarks/data/subset_{split}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/data/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/data/mem_mb", within=config),
        runtime=lookup(dpath="resources/data/runtime", within=config),
        gpu=lookup(dpath="resources/data/gpu", within=config),
    params:
        root=DATA_ROOT,
        n=lambda w: config["targets"][
            "n_per_task" if w.split == TRAIN_SPLIT else "eval_n"
        ],
        shard_size=lookup(dpath="targets/shard_size", within=config),
        tasks=TASKS,
        seed=config["seed"],
    script:
        "../scripts/subset.py"


rule vqa_train:
    input:
        ready=data_ready(),
    output:
        "results/vqa/train.jsonl",
    log:
        "results/logs/data/vqa_train.log",
    benchmark:
        "results/benchmarks/data/vqa_train.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: lookup(dpath="resources/data/threads", within=config)
    resources:
        mem_mb=lookup(dpath="resources/data/mem_mb", within=config),
        runtime=lookup(dpath="resources/data/runtime", within=config),
        gpu=lookup(dpath="resources/data/gpu", within=config),
    params:
        root=DATA_ROOT,
        split=TRAIN_SPLIT,
        benchmarks=BENCHMARKS,
        per_image=lookup(dpath="vqa/train_per_image", within=config),
        seed=config["seed"],
    script:
        "../scripts/vqa_train.py"
