"""The lowest layer: the programme's codes, the field rules, the disclosure gate, the clock, wording and configuration."""
