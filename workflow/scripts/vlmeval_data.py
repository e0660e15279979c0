from sgt.data.download import RetryPolicy
from sgt.eval.lmudata import fetch_lmudata
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
fetch_lmudata(
    snakemake.input.checkout,
    p.datasets,
    p.lmudata,
    snakemake.output[0],
    commit=p.get("commit"),
    policy=RetryPolicy(**p.get("retry", {})),
)
