# Data: the embedded toy world (or a COCO 2017 or SA-1B root), its validation, image subsets and VQA data.


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
        threads: setting("resources/data/threads")
        resources:
            mem_mb=grow("data", "mem_mb"),
            runtime=grow("data", "runtime"),
            gpu=setting("resources/data/gpu"),
        params:
            spec=setting("data/toyworld"),
            seed=config["seed"],
        script:
            "../scripts/toyworld.py"


if config["data"]["source"] == "coco" and config["data"]["coco"]["download"]:

    rule download_coco:
        output:
            f"{DOWNLOAD_DIR}/coco/{{archive}}.zip",
        log:
            "results/logs/data/download_coco/{archive}.log",
        benchmark:
            "results/benchmarks/data/download_coco/{archive}.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: setting("resources/download/threads")
        resources:
            mem_mb=grow("download", "mem_mb"),
            runtime=grow("download", "runtime"),
            gpu=setting("resources/download/gpu"),
        params:
            source=coco_source,
            manifest=f"{config['data']['checksums_dir']}/coco2017.sha256.json",
            retry=setting("data/retry"),
        script:
            "../scripts/download.py"

    rule extract_coco:
        input:
            ancient(f"{DOWNLOAD_DIR}/coco/{{archive}}.zip"),
        output:
            f"{DATA_ROOT}/.extracted/{{archive}}.zip.json",
        log:
            "results/logs/data/extract_coco/{archive}.log",
        benchmark:
            "results/benchmarks/data/extract_coco/{archive}.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: setting("resources/download/threads")
        resources:
            mem_mb=grow("download", "mem_mb"),
            runtime=grow("download", "runtime"),
            gpu=setting("resources/download/gpu"),
        params:
            root=DATA_ROOT,
            limits=setting("data/extract"),
        script:
            "../scripts/extract.py"


if config["data"]["source"] == "sa1b" and config["data"]["sa1b"]["download"]:

    rule download_sa1b:
        output:
            f"{DOWNLOAD_DIR}/sa1b/{{tar}}.tar",
        log:
            "results/logs/data/download_sa1b/{tar}.log",
        benchmark:
            "results/benchmarks/data/download_sa1b/{tar}.tsv"
        wildcard_constraints:
            tar=one_of(SA1B),
        conda:
            "../../envs/sgt.yaml"
        threads: setting("resources/download/threads")
        resources:
            mem_mb=grow("download", "mem_mb"),
            runtime=grow("download", "runtime"),
            gpu=setting("resources/download/gpu"),
        params:
            source=lambda w: SA1B[w.tar],
            manifest=f"{config['data']['checksums_dir']}/sa1b.sha256.json",
            retry=setting("data/retry"),
            hint="data.sa1b.links_file",
        script:
            "../scripts/download.py"

    rule extract_sa1b:
        input:
            ancient(f"{DOWNLOAD_DIR}/sa1b/{{tar}}.tar"),
        output:
            f"{DATA_ROOT}/{{tar}}/.extracted/{{tar}}.tar.json",
        log:
            "results/logs/data/extract_sa1b/{tar}.log",
        benchmark:
            "results/benchmarks/data/extract_sa1b/{tar}.tsv"
        wildcard_constraints:
            tar=one_of(SA1B),
        conda:
            "../../envs/sgt.yaml"
        threads: setting("resources/download/threads")
        resources:
            mem_mb=grow("download", "mem_mb"),
            runtime=grow("download", "runtime"),
            gpu=setting("resources/download/gpu"),
        params:
            root=lambda w, output: output[0].rsplit("/.extracted/", 1)[0],
            limits=setting("data/extract"),
        script:
            "../scripts/extract.py"


rule validate_data:
    input:
        unpack(data_root_inputs),
    output:
        "results/data/validated.json",
    log:
        "results/logs/data/validate_data.log",
    benchmark:
        "results/benchmarks/data/validate_data.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: setting("resources/data/threads")
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=setting("resources/data/gpu"),
    params:
        root=DATA_ROOT,
        source=config["data"]["source"],
        options=DATA_OPTIONS,
        splits=[TRAIN_SPLIT, EVAL_SPLIT],
        limits=setting("data/extract"),
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
    threads: setting("resources/data/threads")
    resources:
        mem_mb=grow("data", "mem_mb"),
        runtime=grow("data", "runtime"),
        gpu=setting("resources/data/gpu"),
    params:
        root=DATA_ROOT,
        n=lambda w: config["targets"][
            "n_per_task" if w.split == TRAIN_SPLIT else "eval_n"
        ],
        shard_size=setting("targets/shard_size"),
        group=SHARED_SUBSET,
        seed=config["seed"],
        source=config["data"]["source"],
        options=DATA_OPTIONS,
    script:
        "../scripts/subset.py"


if config["vqa"]["source"] == "generated":

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
        threads: setting("resources/data/threads")
        resources:
            mem_mb=grow("data", "mem_mb"),
            runtime=grow("data", "runtime"),
            gpu=setting("resources/data/gpu"),
        params:
            root=DATA_ROOT,
            split=TRAIN_SPLIT,
            benchmarks=BENCHMARKS,
            per_image=setting("vqa/train_per_image"),
            seed=config["seed"],
        script:
            "../scripts/vqa_train.py"

else:

    rule download_llava:
        output:
            f"{DOWNLOAD_DIR}/llava/{{subset}}.json",
        log:
            "results/logs/data/download_llava/{subset}.log",
        benchmark:
            "results/benchmarks/data/download_llava/{subset}.tsv"
        wildcard_constraints:
            subset=one_of(LLAVA_SUBSETS),
        conda:
            "../../envs/sgt.yaml"
        threads: setting("resources/download/threads")
        resources:
            mem_mb=grow("download", "mem_mb"),
            runtime=grow("download", "runtime"),
            gpu=setting("resources/download/gpu"),
        params:
            repo=LLAVA.repo,
            revision=LLAVA.revision,
            record=f"{config['data']['checksums_dir']}/llava_onevision.json",
            retry=setting("data/retry"),
        script:
            "../scripts/download_llava.py"

    rule vqa_train:
        input:
            ancient(llava_manifests()),
        output:
            "results/vqa/train.jsonl",
        log:
            "results/logs/data/vqa_train.log",
        benchmark:
            "results/benchmarks/data/vqa_train.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: setting("resources/data/threads")
        resources:
            mem_mb=grow("download", "mem_mb"),
            runtime=grow("download", "runtime"),
            gpu=setting("resources/download/gpu"),
        params:
            counts=LLAVA.subsets,
            seed=LLAVA.seed,
            image_dir="results/vqa/images",
        script:
            "../scripts/llava_vqa.py"
