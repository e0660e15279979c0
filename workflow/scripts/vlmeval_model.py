from sgt.logs import setup_logging
from sgt.models.backends.run import eval_folder_run

setup_logging(snakemake.log[0])
eval_folder_run(
    snakemake.params.model_cfg,
    snakemake.input.get("model"),
    snakemake.output[0],
    checkout=snakemake.input.checkout,
)
