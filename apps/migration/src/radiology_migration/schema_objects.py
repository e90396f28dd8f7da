"""Indexes and constraints that are dropped before the bulk copy and rebuilt after it, in the same transaction.

Building an index once over loaded rows is far cheaper than maintaining it row by row (especially the
trigram GIN indexes). Every object is rebuilt from PostgreSQL's own definition (pg_get_indexdef,
pg_get_constraintdef) under its original name, so the schema the Django migrations created is exactly what
remains after the commit; CHECK and NOT NULL constraints stay in place and are checked during the copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from .normalise import quote_ident


@dataclass(frozen=True)
class Constraint:
    table: str  # as regclass text, already quoted where needed
    name: str
    definition: str

    def add_sql(self) -> str:
        return f"ALTER TABLE {self.table} ADD CONSTRAINT {quote_ident(self.name)} {self.definition}"

    def drop_sql(self) -> str:
        return f"ALTER TABLE {self.table} DROP CONSTRAINT {quote_ident(self.name)}"


@dataclass(frozen=True)
class Index:
    name: str  # regclass text
    definition: str  # CREATE INDEX ...

    def drop_sql(self) -> str:
        return f"DROP INDEX {self.name}"


@dataclass(frozen=True)
class SchemaObjects:
    foreign_keys: tuple[Constraint, ...]
    keys: tuple[Constraint, ...]  # primary key, unique and exclusion constraints
    indexes: tuple[Index, ...]  # indexes not owned by a constraint

    def count(self) -> int:
        return len(self.foreign_keys) + len(self.keys) + len(self.indexes)


def capture(conn: psycopg.Connection, tables: list[str]) -> SchemaObjects:
    rels = "ARRAY[" + ", ".join("%s" for _ in tables) + "]::text[]::regclass[]"
    fks = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype = 'f' AND (conrelid = ANY({rels}) OR confrelid = ANY({rels})) ORDER BY conname",
        [*tables, *tables],
    ).fetchall()
    keys = conn.execute(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        f"WHERE contype IN ('p', 'u', 'x') AND conrelid = ANY({rels}) ORDER BY contype, conname",
        tables,
    ).fetchall()
    indexes = conn.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        f"WHERE i.indrelid = ANY({rels}) AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
        "WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')) ORDER BY 1",
        tables,
    ).fetchall()
    return SchemaObjects(
        foreign_keys=tuple(Constraint(*r) for r in fks),
        keys=tuple(Constraint(*r) for r in keys),
        indexes=tuple(Index(*r) for r in indexes),
    )


def drop(conn: psycopg.Connection, objects: SchemaObjects) -> None:
    for fk in objects.foreign_keys:
        conn.execute(fk.drop_sql())
    for index in objects.indexes:
        conn.execute(index.drop_sql())
    for key in objects.keys:
        conn.execute(key.drop_sql())


def rebuild(conn: psycopg.Connection, objects: SchemaObjects) -> None:
    for key in objects.keys:
        conn.execute(key.add_sql())
    for index in objects.indexes:
        conn.execute(index.definition)
    for fk in objects.foreign_keys:
        conn.execute(fk.add_sql())


def reset_sequences(conn: psycopg.Connection, tables: list[str]) -> list[str]:
    """Point every sequence owned by a column of `tables` past the largest loaded value."""
    rows = conn.execute(
        "SELECT c.table_name, c.column_name, pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) "
        "FROM information_schema.columns c WHERE c.table_schema = current_schema() AND c.table_name = ANY(%s) "
        "AND pg_get_serial_sequence(quote_ident(c.table_name), c.column_name) IS NOT NULL",
        [tables],
    ).fetchall()
    reset: list[str] = []
    for table, column, sequence in rows:
        conn.execute(
            f"SELECT setval(%s, coalesce((SELECT max({quote_ident(column)}) FROM {quote_ident(table)}), 0) + 1, false)",
            [sequence],
        )
        reset.append(sequence)
    return reset
