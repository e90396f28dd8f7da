"""Counts shared by every worker process of every app host (imaging_api.studies.counts, second tier).

UNLOGGED: a cache, not data. It writes no WAL, so it costs the standbys and the backups nothing, and a crash or
a failover simply leaves it empty. Rows are keyed by (data version, digest of the cache key); a row of an older
data version is never read and is pruned by the service.
"""

from django.db import migrations

TABLE = "imaging_count_cache"

FORWARD = [
    f"CREATE UNLOGGED TABLE {TABLE} (version bigint NOT NULL, key text NOT NULL, value jsonb NOT NULL,"
    " created_at timestamp with time zone NOT NULL DEFAULT now(), PRIMARY KEY (version, key))",
]
BACKWARD = [f"DROP TABLE IF EXISTS {TABLE}"]


class Migration(migrations.Migration):
    dependencies = [("studies", "0002_data_version")]

    operations = [migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD)]
