"""GEdit-Bench-EN (Table 3): VIEScore through the judge endpoint, and the job that scores one folder."""
