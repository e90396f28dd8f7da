"""Look for the scenario's secrets in files fetched from the hosts (process samples, journals, auth logs).

The secrets come from the environment (names given with --secret), never from the command line. A finding names
the file, the line number and the secret's variable, never the value. Exit 1 when any secret is found.

    python3 secret_scan.py --secret IMAGING_DB_PASSWORD --secret LEGACY_ADMIN_TOKEN FILE...
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from urllib.parse import quote


def forms(value: str) -> set[str]:
    """The ways a secret can appear: as is, and URL-encoded (inside a DSN)."""
    return {value, quote(value, safe="")}


def scan(paths: list[Path], secrets: dict[str, str]) -> list[str]:
    findings: list[str] = []
    for path in paths:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, 1):
                for name, value in secrets.items():
                    if any(form in line for form in forms(value)):
                        findings.append(f"{path}:{number}: {name}")
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--secret", action="append", required=True, help="environment variable holding a secret")
    parser.add_argument("files", nargs="+", type=Path)
    args = parser.parse_args(argv)
    secrets = {name: os.environ.get(name, "") for name in args.secret}
    missing = [name for name, value in secrets.items() if len(value) < 8]
    if missing:
        print(f"secret_scan: {', '.join(missing)} not set (or shorter than 8): nothing to look for", file=sys.stderr)
        return 2
    findings = scan(args.files, secrets)
    lines = sum(1 for p in args.files for _ in p.open(encoding="utf-8", errors="replace"))
    for finding in findings:
        print(finding)
    print(f"secret_scan: {len(args.secret)} secrets, {len(args.files)} files, {lines} lines, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
