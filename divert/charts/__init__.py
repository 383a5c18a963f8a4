"""Charts: the Altair builders, the chart standard and PNG rendering."""
