"""`divert bench`: the benchmark of loading, pages, imports and the browser."""
