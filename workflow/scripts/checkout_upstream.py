from sgt.logs import setup_logging
from sgt.models.backends.upstream import checkout

setup_logging(snakemake.log[0])
p = snakemake.params
checkout(p.url, p.commit, snakemake.output[0], key=p.get("key", "upstream.commit"))
