"""The legacy radiology examination service: FastAPI + DuckDB, the baseline the cutover is measured against."""

__version__ = "1.0.0"
BACKEND = "legacy"
