"""Statistics: intervals, rate ratios, interrupted time series and control charts."""
