"""The package's types, checked by mypy."""
