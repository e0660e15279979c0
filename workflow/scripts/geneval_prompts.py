from sgt.eval.geneval.prompts import toyworld_geneval_prompts, write_geneval_prompts
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
p = snakemake.params
write_geneval_prompts(toyworld_geneval_prompts(p.n_per_tag, p.seed), snakemake.output[0])
