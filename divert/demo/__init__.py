"""Synthetic demo data: a West Midlands-like force, 2018 to 2025, before and after the
diversion pathway. `load_demo` writes it (see divert.demo.loader); `divert.demo.tables.build`
gives the same rows as polars frames without a database."""

from divert.demo.loader import DemoExists, load_demo

__all__ = ["DemoExists", "load_demo"]
