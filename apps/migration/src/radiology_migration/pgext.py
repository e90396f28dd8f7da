"""DuckDB's own postgres extension, loaded from the pip package duckdb-extension-postgres (no download).

The package ships the binary as postgres.duckdb_extension; DuckDB derives the entry point from the file
name, so it is copied to a file named postgres_scanner.duckdb_extension and loaded by path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from .outcome import MigrationError

LOADED_NAME = "postgres_scanner.duckdb_extension"


def extension_file() -> Path:
    try:
        import duckdb_extension_postgres  # noqa: PLC0415 - optional at import time of this package
    except ImportError as e:
        raise MigrationError(
            "the duckdb-extension-postgres package is not installed: it is the benchmark's extra "
            "(radiology-migration[bench], pinned in requirements/controller.txt)"
        ) from e
    root = Path(duckdb_extension_postgres.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    found = sorted(root.glob("*.duckdb_extension"))
    if not found:
        raise MigrationError(f"no DuckDB extension binary for duckdb {duckdb.__version__} under {root}")
    return found[0]


def load(con: duckdb.DuckDBPyConnection, workdir: Path) -> None:
    target = workdir / LOADED_NAME
    if not target.exists():
        shutil.copyfile(extension_file(), target)
    con.execute(f"LOAD '{target}'")
