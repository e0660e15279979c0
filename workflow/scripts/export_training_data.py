from sgt.logs import setup_logging
from sgt.models.backends.run import export_training_data, recipe_for

setup_logging(snakemake.log[0])
p, w, i = snakemake.params, snakemake.wildcards, snakemake.input
export_training_data(
    p.model_cfg,
    p.task_shards,
    i.get("vqa"),
    recipe_for(p.model_cfg, w.variant, p.mix, int(w.seed)),
    snakemake.output[0],
    checkout=p.checkout,
    pairs=p.pairs,
)
