"""The disclosure audit (`divert disclosure audit`): an intruder that reads everything a role
receives and tries to work out every hidden count by linear programming (see
docs/disclosure-audit.md). `tables` registers the published table builders, `release` reads the
public release, `surface` holds what was read, `attack` solves, `run` puts them together."""
