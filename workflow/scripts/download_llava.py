from sgt.data.download import RetryPolicy
from sgt.data.hub import fetch_subset
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
fetch_subset(
    p.repo,
    p.revision,
    snakemake.wildcards.subset,
    snakemake.output[0],
    p.record,
    policy=RetryPolicy(**p.retry),
)
