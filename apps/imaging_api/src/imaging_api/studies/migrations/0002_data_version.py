"""A data version counter bumped by every write statement on examinations and exam_reports.

The API caches exact totals per data version (imaging_api.studies.counts). Statement-level triggers cost
one UPDATE per statement (a COPY of a million rows bumps it once). ENABLE ALWAYS: they fire even when a
bulk loader sets session_replication_role = replica.
"""

from django.db import migrations

WATCHED = ("examinations", "exam_reports")

FORWARD = [
    "CREATE TABLE imaging_data_version (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),"
    " version bigint NOT NULL)",
    "INSERT INTO imaging_data_version (singleton, version) VALUES (true, 1)",
    "CREATE FUNCTION imaging_bump_data_version() RETURNS trigger LANGUAGE plpgsql AS $$"
    " BEGIN UPDATE imaging_data_version SET version = version + 1; RETURN NULL; END $$",
]
for table in WATCHED:
    FORWARD += [
        f"CREATE TRIGGER {table}_bump_data_version AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table}"
        " FOR EACH STATEMENT EXECUTE FUNCTION imaging_bump_data_version()",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {table}_bump_data_version",
    ]

BACKWARD = [f"DROP TRIGGER IF EXISTS {table}_bump_data_version ON {table}" for table in WATCHED] + [
    "DROP FUNCTION IF EXISTS imaging_bump_data_version()",
    "DROP TABLE IF EXISTS imaging_data_version",
]


class Migration(migrations.Migration):
    dependencies = [("studies", "0001_initial")]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
