"""The PostgreSQL advisory lock ids of the project, in one place so that no two uses share an id.

Advisory locks are named by one bigint per database; these are fixed values no other user of the imaging
database takes.
"""

# The new service's write freeze: every write transaction takes it shared, the freeze barrier (the new
# service's `freeze_barrier` or `radiology-migrate freeze-barrier`/`carry-back`) exclusively.
FREEZE_LOCK_KEY = 7_265_646_102
# Serialises concurrent runs of the new service's grants (GRANTs on one object at once can fail with "tuple
# concurrently updated").
GRANT_LOCK_KEY = 7_265_646_103
# Held by every `radiology-migrate load` for its transaction: one load at a time.
LOAD_LOCK_KEY = 7_265_646_109
# The new service's count cache: one session at a time counts a given key (the two-int form of the advisory
# lock: this class, and the key's digest as the object; PostgreSQL never mixes the two forms up).
COUNT_LOCK_CLASS = 726_564_610


def freeze_barrier_lock_timeout(timeout_seconds: float) -> str:
    """PostgreSQL's lock_timeout for a freeze barrier of `timeout_seconds`: whole milliseconds, at least 1 (0 would
    mean no limit)."""
    return f"{max(1, round(timeout_seconds * 1000))}ms"
