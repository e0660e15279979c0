from sgt.data.download import RetryPolicy, download
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
hint = getattr(p, "hint", "data.coco")  # the config key an error message points at
download(p.source, snakemake.output[0], manifest=p.manifest, policy=RetryPolicy(**p.retry), hint=hint)
