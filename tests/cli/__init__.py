"""The command line and the scripts: bench, explain, demo, file commands, the out-of-core
benchmark and the digits example."""
