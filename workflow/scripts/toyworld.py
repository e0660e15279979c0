from sgt.data.toyworld import ToyWorldSpec, write_toyworld
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
write_toyworld(ToyWorldSpec(**snakemake.params.spec, seed=snakemake.params.seed), snakemake.output[0])
