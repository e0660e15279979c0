from sgt.data.download import RetryPolicy
from sgt.eval.vlmeval.adapter import BENCHMARKS
from sgt.eval.vlmeval.lmudata import fetch_lmudata
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
fetch_lmudata(
    snakemake.input.checkout,
    p.datasets,
    p.lmudata,
    snakemake.output[0],
    commit=p.get("commit"),
    # the class the vlmeval rule names in run.py's --config must be the one that lists the dataset
    classes={d: BENCHMARKS[d].dataset_class for d in p.datasets if d in BENCHMARKS},
    policy=RetryPolicy(**p.get("retry", {})),
)
