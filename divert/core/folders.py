"""Folders written whole or not at all (a backup, a public release), and a folder as one zip."""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def written_whole(out: Path, refuse: type[Exception]) -> Iterator[Path]:
    """Yield a hidden partial folder beside `out` to write into; on success it becomes `out`, on
    any error it is removed, so `out` appears only when complete. `out` must be new or an empty
    folder, else `refuse` is raised with the reason."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise refuse(f"{out} already exists and is not an empty folder: choose a new folder")
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        yield partial
        if out.exists():
            out.rmdir()
        partial.rename(out)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise


def zip_folder(folder: Path) -> bytes:
    """A folder as one zip, in memory, for a download."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()
