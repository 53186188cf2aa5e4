"""The package as a whole: its import graph and layers."""
