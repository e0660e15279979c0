from sgt.logs import setup_logging
from sgt.models.backends.run import recipe_for, train_with_backend

setup_logging(snakemake.log[0])
p, w, i = snakemake.params, snakemake.wildcards, snakemake.input
train_with_backend(
    p.model_cfg,
    p.task_shards,
    i.get("vqa"),
    recipe_for(p.model_cfg, w.variant, p.mix, int(w.seed)),
    p.workdir,
    snakemake.output[0],
    snakemake.log[0],
    checkout=i.get("checkout"),
    base=i.get("base"),
    threads=snakemake.threads,
    pairs=p.pairs,
    exported=i.get("export"),
    preflight=i.get("preflight"),
)
