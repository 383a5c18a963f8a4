"""Equity: disparity, decision points, denominators and the equity watch."""
