"""Least privilege at runtime: what the web process's database role may do, and making its grants so.

The owner role owns the tables: it runs `migrate`, `import_excel` and the migration's bulk load. The web
process (gunicorn, and `freeze_barrier` under the service's environment) connects as a runtime role that owns
nothing and holds exactly:

- CONNECT on the database and USAGE on the schema of the tables;
- SELECT on every table the service reads: examinations and reports (selectors, sql, counts), analysis tasks,
  and the data version (counts.VERSION_TABLE, read by every search and total);
- SELECT, INSERT, UPDATE, DELETE on analysis tasks (services: create, tombstone), and USAGE, SELECT on the
  sequence of any auto-increment column of a table it inserts into (none today: task ids are UUIDs);
- SELECT, INSERT, DELETE on the shared count cache (counts.SHARED_TABLE: read, shared, pruned; never updated);
- nothing else on the project's schema: no other privilege on these tables or on any other relation of the
  schema (django_migrations, sequences), no column privilege, no CREATE on the schema or the database, no
  TEMPORARY granted to the role itself.

The freeze lock (pg_advisory_xact_lock[_shared]) and the trigram functions need no grant: PUBLIC may execute
them. The privileges of each table come from the models (RUNTIME_MODEL_PRIVILEGES, checked to cover every model
of the app) plus the two tables outside the ORM (the data version, the shared count cache).

`plan()` compares that with what the role holds (its own ACL entries on the database, the schema, every
relation of the schema and their columns) and gives the GRANT/REVOKE statements that make them equal; `apply()`
runs them in one transaction and checks the result, including privileges the role would still have through
PUBLIC or a role membership (those cannot be revoked from the role itself and are reported as problems).
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, models, transaction
from django.db.backends.utils import CursorWrapper
from radiology_contract.locks import GRANT_LOCK_KEY

from imaging_api.studies.counts import SHARED_TABLE, VERSION_TABLE
from imaging_api.studies.models import AnalysisTask, Examination, Report

READ = ("SELECT",)
READ_WRITE = ("SELECT", "INSERT", "UPDATE", "DELETE")
SEQUENCE_USE = ("USAGE", "SELECT")

# What the runtime does with each model's table (one entry per model of the app; see runtime_tables()).
RUNTIME_MODEL_PRIVILEGES: dict[type[models.Model], tuple[str, ...]] = {
    Examination: READ,
    Report: READ,
    AnalysisTask: READ_WRITE,
}
# Tables outside the ORM that the runtime uses.
RUNTIME_RAW_TABLES: dict[str, tuple[str, ...]] = {VERSION_TABLE: READ, SHARED_TABLE: ("SELECT", "INSERT", "DELETE")}

DATABASE_PRIVILEGES = ("CONNECT",)
SCHEMA_PRIVILEGES = ("USAGE",)
# Privileges PostgreSQL knows per kind of object (aclexplode names), in a stable order for messages.
TABLE_PRIVILEGE_ORDER = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER", "MAINTAIN")
SEQUENCE_PRIVILEGE_ORDER = ("USAGE", "SELECT", "UPDATE")
COLUMN_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "REFERENCES")
AUTO_FIELDS = ("AutoField", "BigAutoField", "SmallAutoField")
RELATION_KINDS = {"r": "TABLE", "p": "TABLE", "v": "TABLE", "m": "TABLE", "f": "TABLE", "S": "SEQUENCE"}
# A relation's ACL, or the default one when it was never granted on ('s': sequence defaults, 'r': relation).
RELATION_ACL = "coalesce(c.relacl, acldefault((CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END)::\"char\", c.relowner))"
# Held privileges that the role may grant on are also recorded as "GRANT OPTION FOR <privilege>".
GRANT_OPTION = "GRANT OPTION FOR "


class GrantError(Exception):
    """The role cannot be made a least-privilege runtime role (it owns tables, is a superuser, ...)."""


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _ordered(privileges: Iterable[str], order: tuple[str, ...]) -> tuple[str, ...]:
    chosen = set(privileges)
    return tuple(p for p in order if p in chosen) + tuple(sorted(chosen - set(order)))


def runtime_tables() -> dict[str, tuple[str, ...]]:
    """Table -> privileges of the runtime role, from the models (every model of the app must be listed)."""
    models_of_app = set(apps.get_app_config("studies").get_models())
    missing = sorted(m.__name__ for m in models_of_app - set(RUNTIME_MODEL_PRIVILEGES))
    if missing:
        raise GrantError(f"RUNTIME_MODEL_PRIVILEGES does not say what the runtime may do with {', '.join(missing)}")
    tables = {model._meta.db_table: privileges for model, privileges in RUNTIME_MODEL_PRIVILEGES.items()}
    return {**tables, **RUNTIME_RAW_TABLES}


def runtime_sequence_columns() -> list[tuple[str, str]]:
    """(table, column) of the auto-increment columns of the tables the runtime inserts into."""
    return [
        (model._meta.db_table, f.column)
        for model, privileges in RUNTIME_MODEL_PRIVILEGES.items()
        if "INSERT" in privileges
        for f in model._meta.concrete_fields
        if f.get_internal_type() in AUTO_FIELDS
    ]


@dataclass(frozen=True)
class Change:
    grant: bool
    privileges: tuple[str, ...]
    kind: str  # DATABASE, SCHEMA, TABLE, SEQUENCE
    name: str  # object name (a table's name for column privileges)
    columns: tuple[str, ...] = ()
    grant_option: bool = False  # a REVOKE of the right to grant the privileges on, the privileges kept

    def _verb(self) -> str:
        if self.grant:
            return "GRANT"
        return "REVOKE GRANT OPTION FOR" if self.grant_option else "REVOKE"

    def sql(self, role: str) -> str:
        if self.columns:
            columns = ", ".join(quote_ident(c) for c in self.columns)
            privileges = ", ".join(f"{p} ({columns})" for p in self.privileges)
        else:
            privileges = ", ".join(self.privileges)
        # CASCADE: grants the runtime role made itself (it should have made none) go with its own.
        tail = f"TO {quote_ident(role)}" if self.grant else f"FROM {quote_ident(role)} CASCADE"
        return f"{self._verb()} {privileges} ON {self.kind} {quote_ident(self.name)} {tail}"

    def describe(self, role: str) -> str:
        columns = f" ({', '.join(self.columns)})" if self.columns else ""
        direction = "TO" if self.grant else "FROM"
        return f"{self._verb()} {', '.join(self.privileges)}{columns} ON {self.kind} {self.name} {direction} {role}"


@dataclass
class Plan:
    role: str
    database: str
    schema: str
    changes: list[Change] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _fetch(cursor: CursorWrapper, statement: str, params: list[object]) -> list[tuple]:
    cursor.execute(statement, params)
    return list(cursor.fetchall())


def _role(cursor: CursorWrapper, role: str) -> int:
    rows = _fetch(cursor, "SELECT oid, rolsuper FROM pg_roles WHERE rolname = %s", [role])
    if not rows:
        raise GrantError(f"role {role!r} does not exist (create it first, e.g. CREATE ROLE ... LOGIN PASSWORD ...)")
    oid, superuser = rows[0]
    if superuser:
        raise GrantError(f"role {role!r} is a superuser: no grant can limit it; use a role without SUPERUSER")
    (current,) = _fetch(cursor, "SELECT current_user", [])[0]
    if current == role:
        raise GrantError(f"role {role!r} is the role this command connects as (the owner); name another role")
    return int(oid)


def _schema(cursor: CursorWrapper, tables: Iterable[str]) -> tuple[str, int]:
    rows = _fetch(
        cursor,
        "SELECT t.name, n.nspname, n.oid FROM unnest(%s::text[]) AS t(name) "
        "LEFT JOIN pg_class c ON c.oid = to_regclass(quote_ident(t.name)) "
        "LEFT JOIN pg_namespace n ON n.oid = c.relnamespace",
        [sorted(tables)],
    )
    missing = [name for name, schema, _ in rows if schema is None]
    if missing:
        raise GrantError(f"table(s) {', '.join(missing)} not found: run `imaging-api migrate` first")
    schemas = {(schema, oid) for _, schema, oid in rows}
    if len(schemas) != 1:
        raise GrantError(f"the service's tables are spread over several schemas: {sorted(s for s, _ in schemas)}")
    schema, oid = schemas.pop()
    return str(schema), int(oid)


def _check_not_owner(cursor: CursorWrapper, role_oid: int, role: str, schema_oid: int) -> None:
    owners = _fetch(
        cursor,
        "SELECT DISTINCT pg_get_userbyid(o.owner) FROM ("
        " SELECT relowner AS owner FROM pg_class WHERE relnamespace = %s"
        " UNION SELECT nspowner FROM pg_namespace WHERE oid = %s"
        " UNION SELECT datdba FROM pg_database WHERE datname = current_database()) o "
        "WHERE pg_has_role(%s, o.owner, 'USAGE')",
        [schema_oid, schema_oid, role_oid],
    )
    if owners:
        names = ", ".join(sorted(str(o[0]) for o in owners))
        raise GrantError(
            f"role {role!r} owns, or has the privileges of the owner of, the database, the schema or its tables "
            f"({names}): a runtime role must own nothing and be no member of the owner role"
        )


def _held(cursor: CursorWrapper, role_oid: int, schema_oid: int) -> dict[tuple[str, str, tuple[str, ...]], set[str]]:
    """Privileges granted to the role itself: (kind, name, columns) -> privilege names."""
    held: dict[tuple[str, str, tuple[str, ...]], set[str]] = {}

    def add(kind: str, name: str, privilege: str, grantable: bool, columns: tuple[str, ...] = ()) -> None:
        privileges = held.setdefault((kind, name, columns), set())
        privileges.add(privilege)
        if grantable:
            privileges.add(GRANT_OPTION + privilege)

    for name, privilege, grantable in _fetch(
        cursor,
        "SELECT d.datname, a.privilege_type, a.is_grantable FROM pg_database d, "
        "aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) a "
        "WHERE d.datname = current_database() AND a.grantee = %s",
        [role_oid],
    ):
        add("DATABASE", name, privilege, grantable)
    for name, privilege, grantable in _fetch(
        cursor,
        "SELECT n.nspname, a.privilege_type, a.is_grantable FROM pg_namespace n, "
        "aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a WHERE n.oid = %s AND a.grantee = %s",
        [schema_oid, role_oid],
    ):
        add("SCHEMA", name, privilege, grantable)
    for name, relkind, privilege, grantable in _fetch(
        cursor,
        "SELECT c.relname, c.relkind, a.privilege_type, a.is_grantable FROM pg_class c, "
        f"aclexplode({RELATION_ACL}) a "
        "WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') AND a.grantee = %s",
        [schema_oid, role_oid],
    ):
        add(RELATION_KINDS[relkind], name, privilege, grantable)
    for name, column, privilege, grantable in _fetch(
        cursor,
        "SELECT c.relname, att.attname, a.privilege_type, a.is_grantable FROM pg_attribute att "
        "JOIN pg_class c ON c.oid = att.attrelid, aclexplode(att.attacl) a "
        "WHERE c.relnamespace = %s AND att.attacl IS NOT NULL AND NOT att.attisdropped AND a.grantee = %s",
        [schema_oid, role_oid],
    ):
        add("TABLE", name, privilege, grantable, (column,))
    return held


def _wanted(cursor: CursorWrapper, database: str, schema: str) -> dict[tuple[str, str, tuple[str, ...]], set[str]]:
    wanted: dict[tuple[str, str, tuple[str, ...]], set[str]] = {
        ("DATABASE", database, ()): set(DATABASE_PRIVILEGES),
        ("SCHEMA", schema, ()): set(SCHEMA_PRIVILEGES),
    }
    for table, privileges in runtime_tables().items():
        wanted[("TABLE", table, ())] = set(privileges)
    for table, column in runtime_sequence_columns():
        rows = _fetch(
            cursor,
            "SELECT c.relname FROM pg_class c WHERE c.oid = pg_get_serial_sequence(quote_ident(%s), %s)::regclass",
            [table, column],
        )
        for (sequence,) in rows:
            wanted[("SEQUENCE", sequence, ())] = set(SEQUENCE_USE)
    return wanted


def _changes(
    held: dict[tuple[str, str, tuple[str, ...]], set[str]], wanted: dict[tuple[str, str, tuple[str, ...]], set[str]]
) -> list[Change]:
    revokes: list[Change] = []
    grants: list[Change] = []
    for key in sorted(set(held) | set(wanted)):
        kind, name, columns = key
        order = SEQUENCE_PRIVILEGE_ORDER if kind == "SEQUENCE" else TABLE_PRIVILEGE_ORDER
        held_here, want = held.get(key, set()), wanted.get(key, set())
        have = {p for p in held_here if not p.startswith(GRANT_OPTION)}
        grantable = {p.removeprefix(GRANT_OPTION) for p in held_here if p.startswith(GRANT_OPTION)}
        if have - want:
            revokes.append(Change(False, _ordered(have - want, order), kind, name, columns))
        if grantable & want:  # revoking a privilege takes its grant option too; kept ones lose only the option
            revokes.append(Change(False, _ordered(grantable & want, order), kind, name, columns, grant_option=True))
        if want - have:
            grants.append(Change(True, _ordered(want - have, order), kind, name, columns))
    return revokes + grants


def _inherited_extras(
    cursor: CursorWrapper, role_oid: int, schema_oid: int, schema: str, wanted: dict[tuple[str, str, tuple], set[str]]
) -> list[str]:
    """Privileges the role has through PUBLIC or a membership beyond what it should have (after the changes)."""
    extras: list[str] = []
    relations = _fetch(
        cursor,
        "SELECT c.oid, c.relname, c.relkind FROM pg_class c "
        "WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S') ORDER BY c.relname",
        [schema_oid],
    )
    (version,) = _fetch(cursor, "SELECT current_setting('server_version_num')::int", [])[0]
    table_checks = [p for p in TABLE_PRIVILEGE_ORDER if p != "MAINTAIN" or version >= 170000]
    for oid, name, relkind in relations:
        kind = RELATION_KINDS[relkind]
        allowed = wanted.get((kind, name, ()), set())
        if kind == "SEQUENCE":
            checks = [(p, "has_sequence_privilege") for p in SEQUENCE_PRIVILEGE_ORDER]
        else:
            checks = [
                (p, "has_any_column_privilege" if p in COLUMN_PRIVILEGES else "has_table_privilege")
                for p in table_checks
            ]
        for privilege, function in checks:
            if privilege in allowed:
                continue
            ((has,),) = _fetch(cursor, f"SELECT {function}(%s::oid, %s::oid, %s)", [role_oid, oid, privilege])
            if has:
                extras.append(f"{privilege} on {kind.lower()} {name}")
    ((create_schema, create_database),) = _fetch(
        cursor,
        "SELECT has_schema_privilege(%s::oid, %s, 'CREATE'), "
        "has_database_privilege(%s::oid, current_database(), 'CREATE')",
        [role_oid, schema, role_oid],
    )
    if create_schema:
        extras.append(f"CREATE on schema {schema}")
    if create_database:
        extras.append("CREATE on the database")
    return extras


def plan(role: str) -> Plan:
    """What would change for `role` (read-only)."""
    with connection.cursor() as cursor:
        role_oid = _role(cursor, role)
        tables = runtime_tables()
        schema, schema_oid = _schema(cursor, tables)
        _check_not_owner(cursor, role_oid, role, schema_oid)
        ((database,),) = _fetch(cursor, "SELECT current_database()", [])
        wanted = _wanted(cursor, database, schema)
        changes = _changes(_held(cursor, role_oid, schema_oid), wanted)
    return Plan(role, str(database), schema, changes)


def apply(role: str, *, dry_run: bool = False) -> Plan:
    """Make the role's grants exactly the runtime's, in one transaction; the plan that was carried out.

    GrantError (nothing changed) when the role would still have more than that through PUBLIC or a role
    membership. With `dry_run` the same is done and checked, then rolled back.
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [GRANT_LOCK_KEY])
        done = plan(role)
        for change in done.changes:
            cursor.execute(change.sql(role))
        role_oid = _role(cursor, role)
        _schema_name, schema_oid = _schema(cursor, runtime_tables())
        wanted = _wanted(cursor, done.database, done.schema)
        left = _changes(_held(cursor, role_oid, schema_oid), wanted)
        if left:
            raise GrantError("the grants did not converge: " + "; ".join(c.describe(role) for c in left))
        extras = _inherited_extras(cursor, role_oid, schema_oid, done.schema, wanted)
        if extras:
            raise GrantError(
                f"role {role!r} would still have {', '.join(extras)} through PUBLIC or a role it is a member of; "
                "revoke those where they are granted (nothing was changed)"
            )
        if dry_run:
            transaction.set_rollback(True)
    return done
