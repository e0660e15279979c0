from sgt.logs import setup_logging
from sgt.models.backends.run import generate_geneval_run

setup_logging(snakemake.log[0])
w, i, p = snakemake.wildcards, snakemake.input, snakemake.params
generate_geneval_run(
    p.model_cfg,
    i.eval_model,
    snakemake.output[0],
    snakemake.log[0],
    checkout=i.checkout,
    workdir=p.workdir,
    seed=int(w.gseed),
    settings=p.settings,
    gpus=snakemake.resources.gpu,
)
