from sgt.logs import setup_logging
from sgt.models.backends.run import preflight_run, recipe_for

setup_logging(snakemake.log[0])
p, w, i = snakemake.params, snakemake.wildcards, snakemake.input
preflight_run(
    p.model_cfg,
    i.export,
    recipe_for(p.model_cfg, w.variant, p.mix, int(w.seed)),
    snakemake.output[0],
    checkout=i.checkout,
    workdir=p.workdir,
    log=snakemake.log[0],
)
