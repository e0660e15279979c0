from sgt.logs import setup_logging
from sgt.models.backends.run import generate_run

setup_logging(snakemake.log[0])
w, i, p = snakemake.wildcards, snakemake.input, snakemake.params
generate_run(
    p.model_cfg,
    p.benchmark,
    i.model,
    snakemake.output[0],
    snakemake.log[0],
    checkout=i.checkout,
    workdir=p.workdir,
    seed=int(w.gseed) if "gseed" in w.keys() else None,  # else the drawer's own seed setting
    settings=p.settings,
    gpus=snakemake.resources.gpu,
    inputs={k: v for k, v in i.items() if k not in ("model", "checkout")},
)
