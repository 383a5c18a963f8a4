"""A Python function applied to a column's values, without running Python inside polars.

`each_value` works the function out once per distinct value, here in the calling thread, and hands
polars the answers as a lookup (`replace_strict`). Polars' `map_elements` / `map_batches` instead
call back into Python from its own thread pool, where each call must take the GIL: when another
session's thread holds the GIL while it waits for that same pool (a conversion such as
`to_pandas`, made by Streamlit for every table), neither can go on, and the app hangs (seen with
ten sessions opening the Overview at once). Nothing in divert calls them (tests/test_lookup.py).
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl


def each_value(frame: pl.DataFrame, column: str, fn: Callable, dtype: pl.DataType, *,
               nulls_too: bool = False) -> pl.Expr:
    """`fn` of each value of `frame[column]`, as an expression over that column (named after it).
    A missing value gives a missing answer, unless `nulls_too` (then `fn(None)`)."""
    values = frame.get_column(column).unique().to_list()
    answers = {value: fn(value) for value in values if value is not None}
    missing = fn(None) if nulls_too and None in values else None
    expression = pl.col(column).replace_strict(answers, default=None, return_dtype=dtype) if answers \
        else pl.repeat(None, pl.len(), dtype=dtype)
    if missing is not None:
        expression = pl.when(pl.col(column).is_null()).then(pl.lit(missing, dtype=dtype)).otherwise(expression)
    return expression.alias(column)
