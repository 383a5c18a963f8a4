"""The app's modules imported once, in the background, as soon as the app process runs its first
page (usually the sign-in page), so that the first dashboard a user opens does not wait for them.

Measured on 2 cores (`divert bench`, the first page opened after signing in, py-spy): about two
thirds of that first visit was Python importing the read models, the charts and what they use
(statsmodels, SciPy's statistics, Altair), about 1.6 s; the sign-in that comes first leaves time
for it. A page that needs a module still being imported waits for that import (Python's import
lock), never imports it twice.
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
import threading

# In the order the first pages need them: what the dashboards import inside functions, the packages
# the pages draw on (every module of each), then what the other pages import themselves (the board
# pack's PDF, imports, backups; tests/test_warm.py checks that nothing is left)
FIRST = ("scipy.stats", "statsmodels.api")
PACKAGES = ("divert.readmodels", "divert.charts", "divert.web")
LAST = ("divert.core.glossary", "divert.records.exports", "divert.report", "divert.report.methods",
        "divert.ingest.kinds", "divert.ingest.run", "divert.backup", "divert.release", "divert.demo")
NICE = 10  # the thread's scheduling priority (Linux): a page run that wants the processor comes first
LEFT_OUT = ("divert.charts.png",)  # drawn only when a PNG is downloaded (its own renderer)

_once = threading.Lock()  # held for good by the first start(): one thread per process, however many sessions begin at once
_log = logging.getLogger(__name__)


def start() -> None:
    """Begin the imports in a daemon thread, once per process (later calls return at once)."""
    if not _once.acquire(blocking=False):
        return
    threading.Thread(target=_import_all, name="divert-warm", daemon=True).start()


def names() -> list[str]:
    """The modules imported, in order."""
    found = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        found += [info.name for info in pkgutil.iter_modules(module.__path__, prefix=f"{package}.")]
    return [name for name in (*FIRST, *found, *LAST) if name not in LEFT_OUT]


def _import_all() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)  # this thread only, on Linux
    except (AttributeError, OSError):
        pass
    for name in names():
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a page importing it will show the error; here it only costs time
            _log.warning("could not import %s ahead of its first use", name, exc_info=True)
