"""Django model fields and CHECK constraints generated from the contract's field list (one definition).

The contract says what a column is (type, required, length, range, choices); this module only says how
that is spelled for Django and PostgreSQL.
"""

from collections.abc import Callable

from django.db import models
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from radiology_contract.fields import Field, FieldType
from radiology_contract.tables import Table

# Byte-order collation for key columns that the API orders or compares by, so `ORDER BY exam_id` gives
# the same order as DuckDB (which compares strings byte by byte).
BYTE_ORDER = "C"


class NaiveDateTimeField(models.DateTimeField):
    """`timestamp without time zone`: the contract's naive local time (Django's default is timestamptz)."""

    def db_type(self, connection: object) -> str:
        return "timestamp without time zone"


def column(f: Field, *, primary_key: bool = False, collation: str | None = None) -> models.Field:
    """The Django field for one contract field. Nullability and length come from the contract."""
    null = f.nullable
    if f.type is FieldType.STR:
        return models.CharField(max_length=f.max_length, null=null, primary_key=primary_key, db_collation=collation)
    if f.type is FieldType.TEXT:
        return models.TextField(null=null, db_collation=collation)
    if f.type is FieldType.INT:
        return models.IntegerField(null=null)
    if f.type is FieldType.DATETIME:
        return NaiveDateTimeField(null=null)
    if f.type is FieldType.JSON:
        # JSON text kept byte for byte: jsonb would reorder object keys and change the API's bytes.
        return models.TextField(null=null)
    raise ValueError(f"no column mapping for contract field type {f.type!r} ({f.name})")


def checks(table: str, fields: tuple[Field, ...]) -> list[models.CheckConstraint]:
    """CHECK constraints for enumerated values, integer ranges and long-text limits."""
    constraints: list[models.CheckConstraint] = []
    for f in fields:
        conditions: list[models.Q] = []
        if f.choices:
            conditions.append(models.Q(**{f"{f.name}__in": list(f.choices)}))
        if f.type is FieldType.INT and f.min_value is not None:
            conditions.append(models.Q(**{f"{f.name}__gte": f.min_value}))
        if f.type is FieldType.INT and f.max_value is not None:
            conditions.append(models.Q(**{f"{f.name}__lte": f.max_value}))
        if f.type is FieldType.TEXT and f.max_length is not None:
            conditions.append(models.Q(LessThanOrEqual(Length(f.name), f.max_length)))
        if not conditions:
            continue
        condition = conditions[0]
        for extra in conditions[1:]:
            condition &= extra
        if f.nullable:
            condition = models.Q(**{f"{f.name}__isnull": True}) | condition
        constraints.append(models.CheckConstraint(condition=condition, name=f"{table}_{f.name}_valid"))
    return constraints


def contract_model(
    name: str,
    table: Table,
    *,
    overrides: dict[str, tuple[str, Callable[[], models.Field]]] | None = None,
    indexes: list[models.Index] | None = None,
    collated: tuple[str, ...] = (),
) -> type[models.Model]:
    """A model whose columns are exactly `table.fields`, in order, keyed by `table.key`.

    `overrides` maps a column to (attribute name, field factory) in place of the generated field (e.g. a
    foreign key whose db_column is the contract name); factories are called in contract order so that
    Django's field order is the contract's column order. `collated` columns get byte-order collation.
    """
    overrides = overrides or {}
    attrs: dict[str, object] = {"__module__": __name__.rsplit(".", 1)[0] + ".models"}
    for f in table.fields:
        if f.name in overrides:
            attribute, factory = overrides[f.name]
            attrs[attribute] = factory()
            continue
        collation = BYTE_ORDER if f.name in collated else None
        attrs[f.name] = column(f, primary_key=f.name == table.key, collation=collation)
    meta_attrs: dict[str, object] = {
        "db_table": table.postgres,
        "constraints": checks(table.postgres, table.fields),
        "indexes": indexes or [],
        "app_label": "studies",
    }
    attrs["Meta"] = type("Meta", (), meta_attrs)
    return type(name, (models.Model,), attrs)
