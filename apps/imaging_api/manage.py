#!/usr/bin/env python
"""Django's command-line utility for the imaging service (same as the `imaging-api` console script)."""

from imaging_api.cli import main

if __name__ == "__main__":
    main()
