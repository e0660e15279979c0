from sgt.eval.embedded.evaluate import majority_rows
from sgt.logs import setup_logging
from sgt.scores import write_tidy

setup_logging(snakemake.log[0])
ident = {"model": "none", "variant": "majority_answer", "seed": 0}
benchmarks = dict(zip(snakemake.params.names, snakemake.input, strict=True))
write_tidy(majority_rows(benchmarks, ident), snakemake.output[0])
