"""poolnd's test suite, by layer (shared helpers and references are in support/)."""
