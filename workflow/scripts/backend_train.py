from sgt.logs import setup_logging
from sgt.models.backends.run import recipe_for, train_with_backend

setup_logging(snakemake.log[0])
p, w = snakemake.params, snakemake.wildcards
recipe = recipe_for(p.model_cfg, w.variant, p.mix, int(w.seed))
train_with_backend(
    p.model_cfg,
    snakemake.input.checkout,
    p.task_shards,
    snakemake.input.get("vqa"),
    recipe,
    p.workdir,
    snakemake.output[0],
    snakemake.log[0],
)
