"""Move the radiology examination data from the legacy DuckDB file to PostgreSQL, and prove it arrived intact.

Commands (console script `radiology-migrate`): snapshot, load, verify, api-diff, bench. Every command prints a
human summary, or with --json one JSON document that playbooks can `assert` on; the exit code is non-zero on
failure. The tables, columns and keys come from radiology_contract.tables, never from here.
"""

__version__ = "1.0.0"
