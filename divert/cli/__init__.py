"""The `divert` command."""
