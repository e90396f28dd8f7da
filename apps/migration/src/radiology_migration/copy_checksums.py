"""Checksums of a PostgreSQL database against a physical copy of it: a restored backup, a standby.

The restore drill runs the same SQL on the live side (a standby paused at the recovery point) and on the restored
instance, and every table must agree. The application's tables are hashed as the migration's checksum gate hashes
them (normalise.py: the same field encoding, the same order-independent sum of 60-bit slices of md5), with their
JSON fields added as PostgreSQL prints them: both sides are PostgreSQL, so one print is enough. Any other table of
the schema (Django's bookkeeping) is hashed as the text of its whole row. Each query returns (rows, checksum).
"""

from __future__ import annotations

from radiology_contract.tables import TABLES, Table

from .normalise import Dialect, field_text, hash_part, json_fields, quote_ident

# Run first, in the same session: the text of timestamps must not depend on either server's defaults.
SESSION_SETTINGS: tuple[str, ...] = ("SET DateStyle = ISO", "SET TimeZone = 'UTC'")

_BY_NAME: dict[str, Table] = {t.postgres: t for t in TABLES}


def _row_text(table: Table) -> str:
    fields = [field_text(f, Dialect.POSTGRES) for f in table.fields if f not in json_fields(table)]
    fields += [f"coalesce(CAST({quote_ident(f.name)} AS TEXT), chr(30))" for f in json_fields(table)]
    return "concat_ws(chr(31), " + ", ".join(fields) + ")"


def table_checksum_sql(name: str, schema: str = "public") -> str:
    """SQL returning (table_name, rows, checksum as text: a sum past 64 bits) of one table, the same on any copy."""
    table = _BY_NAME.get(name)
    row = _row_text(table) if table else "CAST(t AS TEXT)"
    relation = f"{quote_ident(schema)}.{quote_ident(name)}"
    literal = "'" + name.replace("'", "''") + "'"
    checksum = f"coalesce(sum({hash_part(f'md5({row})', Dialect.POSTGRES)}), 0)"
    return f"SELECT {literal} AS table_name, count(*) AS rows, CAST({checksum} AS TEXT) AS checksum FROM {relation} t"


def checksum_queries(names: list[str], schema: str = "public") -> dict[str, object]:
    """The drill's queries: the session settings, then one per table, in the order given."""
    return {
        "session": list(SESSION_SETTINGS),
        "tables": [{"table": n, "sql": table_checksum_sql(n, schema)} for n in names],
    }
