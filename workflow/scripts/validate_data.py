from sgt.data.validate import validate_root
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
validate_root(snakemake.input.root, snakemake.params.splits, snakemake.output[0])
