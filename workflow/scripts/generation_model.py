from sgt.logs import setup_logging
from sgt.models.backends.run import generation_folder_run

setup_logging(snakemake.log[0])
i = snakemake.input
generation_folder_run(
    snakemake.params.model_cfg, i.get("model"), i.eval_model, snakemake.output[0], checkout=i.checkout
)
