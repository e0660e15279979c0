from sgt.data.archive import ExtractLimits, extract
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
extract(snakemake.input[0], snakemake.params.root, limits=ExtractLimits(**snakemake.params.limits))
