from pathlib import Path

from sgt.budget import plan_budget
from sgt.io import atomic_write_text
from sgt.logs import setup_logging

setup_logging(snakemake.log[0])
# the run's whole config, as rule config_used wrote it: the nested dry run plans exactly this run's jobs
budget = plan_budget([snakemake.input.config], Path.cwd(), repo=Path(snakemake.params.repo))
atomic_write_text(snakemake.output.md, budget.markdown())
atomic_write_text(snakemake.output.html, budget.html("Budget of this run: estimated and measured hours"))
