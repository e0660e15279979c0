"""The judge endpoint both judged benchmarks (GEdit-Bench-EN, DPG-Bench) share: one chat call with images, and
item-by-item asking with a resumable cache and tidy rows."""
