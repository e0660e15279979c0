"""Stand-in of VLMEvalKit's ``vlmeval`` package for the conformance tests (see ../README.md)."""
