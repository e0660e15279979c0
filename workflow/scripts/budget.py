from pathlib import Path

from sgt.budget import plan_budget
from sgt.io import atomic_write_text
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
budget = plan_budget(snakemake.params.configfiles, Path.cwd())
atomic_write_text(snakemake.output.md, budget.markdown())
atomic_write_text(snakemake.output.html, budget.html())
