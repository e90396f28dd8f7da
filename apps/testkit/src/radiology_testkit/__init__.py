"""Shared test helpers: a throwaway PostgreSQL cluster and real server processes on loopback."""
