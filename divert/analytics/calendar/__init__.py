"""Months, weeks and which periods are complete (provisional) at an as-of date."""
