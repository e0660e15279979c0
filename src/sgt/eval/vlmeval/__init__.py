"""VLMEvalKit, the understanding benchmarks of Tables 3, 6 and 9: our adapter (command, config, result
parsing), its data fetch, the cluster job, and the conformance probe run inside VLMEvalKit's interpreter."""
