"""The new radiology examination service: Django Ninja over PostgreSQL."""
