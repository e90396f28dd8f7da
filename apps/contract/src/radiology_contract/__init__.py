"""The data and API contract shared by the legacy service, the new service, the migration and the gates.

Every fact about an examination, a report or an analysis task (names, types, limits, allowed values),
every query parameter (defaults, bounds, ordering) and every response shape (envelope, errors, datetime
format) is defined here once. Both backends import it; neither re-declares it.
"""

__version__ = "1.0.0"
