from sgt.data.gedit_cache import fill_gedit_cache
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
fill_gedit_cache(p.source, snakemake.output[0], revision=p.revision)
