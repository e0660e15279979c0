# Data: the embedded toy world (or a COCO 2017 or SA-1B root), its validation, image subsets and VQA data.


if config["data"]["source"] == "toyworld":

    rule toyworld:
        output:
            directory(PLAN.data_root),
        log:
            "results/logs/data/toyworld.log",
        benchmark:
            "results/benchmarks/data/toyworld.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("data")
        resources:
            **resources_for("data"),
        params:
            spec=setting("data/toyworld"),
            seed=config["seed"],
        script:
            "../scripts/toyworld.py"


if config["data"]["source"] == "coco" and config["data"]["coco"]["download"]:

    rule download_coco:
        output:
            f"{PLAN.download_dir}/coco/{{archive}}.zip",
        log:
            "results/logs/data/download_coco/{archive}.log",
        benchmark:
            "results/benchmarks/data/download_coco/{archive}.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("download")
        resources:
            **resources_for("download"),
        params:
            source=PLAN.coco_source,
            manifest=f"{config['data']['checksums_dir']}/coco2017.sha256.json",
            retry=setting("data/retry"),
        script:
            "../scripts/download.py"

    rule extract_coco:
        input:
            ancient(rules.download_coco.output[0]),
        output:
            f"{PLAN.data_root}/.extracted/{{archive}}.zip.json",
        log:
            "results/logs/data/extract_coco/{archive}.log",
        benchmark:
            "results/benchmarks/data/extract_coco/{archive}.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("download")
        resources:
            **resources_for("download"),
        params:
            root=PLAN.data_root,
            limits=setting("data/extract"),
        script:
            "../scripts/extract.py"


if config["data"]["source"] == "sa1b" and config["data"]["sa1b"]["download"]:

    rule download_sa1b:
        output:
            f"{PLAN.download_dir}/sa1b/{{tar}}.tar",
        log:
            "results/logs/data/download_sa1b/{tar}.log",
        benchmark:
            "results/benchmarks/data/download_sa1b/{tar}.tsv"
        wildcard_constraints:
            tar=one_of(PLAN.sa1b),
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("download")
        resources:
            **resources_for("download"),
        params:
            source=lambda w: PLAN.sa1b[w.tar],
            manifest=f"{config['data']['checksums_dir']}/sa1b.sha256.json",
            retry=setting("data/retry"),
            hint="data.sa1b.links_file",
        script:
            "../scripts/download.py"

    rule extract_sa1b:
        input:
            ancient(rules.download_sa1b.output[0]),
        output:
            f"{PLAN.data_root}/{{tar}}/.extracted/{{tar}}.tar.json",
        log:
            "results/logs/data/extract_sa1b/{tar}.log",
        benchmark:
            "results/benchmarks/data/extract_sa1b/{tar}.tsv"
        wildcard_constraints:
            tar=one_of(PLAN.sa1b),
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("download")
        resources:
            **resources_for("download"),
        params:
            root=lambda w, output: output[0].rsplit("/.extracted/", 1)[0],
            limits=setting("data/extract"),
        script:
            "../scripts/extract.py"


rule validate_data:
    input:
        unpack(PLAN.data_root_inputs),
    output:
        "results/data/validated.json",
    log:
        "results/logs/data/validate_data.log",
    benchmark:
        "results/benchmarks/data/validate_data.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("data")
    resources:
        **resources_for("data"),
    params:
        root=PLAN.data_root,
        source=config["data"]["source"],
        options=PLAN.data_options,
        splits=[PLAN.train_split, PLAN.eval_split],
        limits=setting("data/extract"),
    script:
        "../scripts/validate_data.py"


rule subset:
    input:
        ready=rules.validate_data.output[0],
    output:
        "results/subsets/{split}.json",
    log:
        "results/logs/data/subset_{split}.log",
    benchmark:
        "results/benchmarks/data/subset_{split}.tsv"
    conda:
        "../../envs/sgt.yaml"
    threads: threads_for("data")
    resources:
        **resources_for("data"),
    params:
        root=PLAN.data_root,
        n=lambda w: PLAN.needed(w.split),
        shard_size=setting("targets/shard_size"),
        group=PLAN.shared_subset,
        seed=config["seed"],
        source=config["data"]["source"],
        options=PLAN.data_options,
    script:
        "../scripts/subset.py"


if config["vqa"]["source"] == "generated":

    rule vqa_train:
        input:
            ready=rules.validate_data.output[0],
        output:
            "results/vqa/train.jsonl",
        log:
            "results/logs/data/vqa_train.log",
        benchmark:
            "results/benchmarks/data/vqa_train.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("data")
        resources:
            **resources_for("data"),
        params:
            root=PLAN.data_root,
            split=PLAN.train_split,
            benchmarks=PLAN.benchmarks,
            per_image=setting("vqa/train_per_image"),
            seed=config["seed"],
        script:
            "../scripts/vqa_train.py"

else:

    rule download_llava:
        output:
            f"{PLAN.download_dir}/llava/{{subset}}.json",
        log:
            "results/logs/data/download_llava/{subset}.log",
        benchmark:
            "results/benchmarks/data/download_llava/{subset}.tsv"
        wildcard_constraints:
            subset=one_of(PLAN.llava_subsets),
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("download")
        resources:
            **resources_for("download"),
        params:
            repo=PLAN.llava.repo,
            revision=PLAN.llava.revision,
            record=f"{config['data']['checksums_dir']}/llava_onevision.json",
            retry=setting("data/retry"),
        script:
            "../scripts/download_llava.py"

    rule vqa_train:
        input:
            ancient(expand(rules.download_llava.output[0], subset=PLAN.llava_subsets)),
        output:
            "results/vqa/train.jsonl",
        log:
            "results/logs/data/vqa_train.log",
        benchmark:
            "results/benchmarks/data/vqa_train.tsv"
        conda:
            "../../envs/sgt.yaml"
        threads: threads_for("llava_vqa")
        resources:
            **resources_for("llava_vqa"),
        params:
            counts=PLAN.llava.subsets,
            seed=PLAN.llava.seed,
            image_dir="results/vqa/images",
        script:
            "../scripts/llava_vqa.py"
