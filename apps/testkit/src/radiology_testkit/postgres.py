"""A throwaway PostgreSQL cluster for tests and benchmarks.

`running_postgres()` initdb's a fresh cluster in a temporary directory, starts it on 127.0.0.1 at a free
port (unix socket inside the same directory), and stops and removes it on exit. When the caller is root
(CI containers), the server runs as the unprivileged user `nobody`, because PostgreSQL refuses to run as
root.
"""

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from radiology_testkit.ports import LOOPBACK, free_port

SUPERUSER = "postgres"
UNPRIVILEGED_USER = "nobody"
BINDIR_ENV = "RADIOLOGY_PG_BINDIR"
DEBIAN_BINDIR_ROOT = Path("/usr/lib/postgresql")
START_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 30.0
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

# Settings that trade durability for speed: the cluster is thrown away anyway.
FAST_SETTINGS: dict[str, str] = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server binaries are missing or the throwaway cluster could not start."""


@dataclass(frozen=True)
class PgServer:
    """Connection facts of a running throwaway cluster."""

    host: str
    port: int
    superuser: str
    password: str
    socket_dir: Path
    data_dir: Path
    log_file: Path

    def dsn(self, dbname: str = "postgres", user: str | None = None, password: str | None = None) -> str:
        """A libpq URL for `dbname` over TCP on loopback (superuser unless `user`/`password` given)."""
        login = user or self.superuser
        secret = password if password is not None else self.password
        return f"postgresql://{login}:{secret}@{self.host}:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres") -> psycopg.Connection:
        """An autocommit superuser connection to `dbname`."""
        return psycopg.connect(self.dsn(dbname), autocommit=True)

    def create_role(self, name: str, password: str) -> None:
        """Create a LOGIN role `name` with `password` (no superuser, may create databases)."""
        _check_identifier(name)
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(sql.Identifier(name), sql.Literal(password))
            )

    def create_database(self, name: str, owner: str | None = None) -> str:
        """Create database `name` (owned by `owner` if given) and return its superuser DSN."""
        _check_identifier(name)
        statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(name))
        if owner is not None:
            _check_identifier(owner)
            statement = statement + sql.SQL(" OWNER {}").format(sql.Identifier(owner))
        with self.connect() as conn:
            conn.execute(statement)
        return self.dsn(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, disconnecting its sessions first."""
        _check_identifier(name)
        with self.connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def log_tail(self, lines: int = 40) -> str:
        """The last `lines` lines of the server log."""
        return _tail(self.log_file, lines)


def find_bindir() -> Path:
    """The directory holding initdb and postgres (env override, Debian layout, pg_config, then PATH)."""
    candidates: list[Path] = []
    override = os.environ.get(BINDIR_ENV)
    if override:
        candidates.append(Path(override))
    if DEBIAN_BINDIR_ROOT.is_dir():
        versions = sorted(
            (p for p in DEBIAN_BINDIR_ROOT.iterdir() if p.name.isdigit()), key=lambda p: int(p.name), reverse=True
        )
        candidates.extend(v / "bin" for v in versions)
    pg_config = shutil.which("pg_config")
    if pg_config:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0 and result.stdout.strip():
            candidates.append(Path(result.stdout.strip()))
    initdb_on_path = shutil.which("initdb")
    if initdb_on_path:
        candidates.append(Path(initdb_on_path).parent)
    for candidate in candidates:
        if (candidate / "initdb").is_file() and (candidate / "postgres").is_file():
            return candidate
    raise PostgresUnavailableError(
        "PostgreSQL server binaries (initdb, postgres) not found: looked in "
        f"${BINDIR_ENV}, {DEBIAN_BINDIR_ROOT}/<version>/bin, `pg_config --bindir` and PATH. "
        "Install the PostgreSQL server (Debian: `apt-get install postgresql`) or set "
        f"{BINDIR_ENV} to the directory holding initdb."
    )


@contextmanager
def running_postgres(settings: Mapping[str, str] | None = None) -> Iterator[PgServer]:
    """Start a throwaway cluster; yield its PgServer; stop it and delete its files on exit.

    `settings` are extra server settings (e.g. {"shared_buffers": "512MB"}) on top of FAST_SETTINGS.
    """
    bindir = find_bindir()
    root = Path(tempfile.mkdtemp(prefix="radiology-pg-"))
    try:
        owner = _unprivileged_owner()
        data_dir, socket_dir, log_file = root / "data", root / "sock", root / "server.log"
        socket_dir.mkdir()
        password = secrets.token_hex(16)
        pwfile = root / "pwfile"
        pwfile.write_text(password + "\n", encoding="utf-8")
        if owner is not None:
            for path in (root, socket_dir, pwfile):
                os.chown(path, owner[0], owner[1])
        _run_checked(
            [
                str(bindir / "initdb"),
                "--pgdata",
                str(data_dir),
                "--username",
                SUPERUSER,
                "--pwfile",
                str(pwfile),
                "--auth-host",
                "scram-sha-256",
                "--auth-local",
                "trust",
                "--encoding",
                "UTF8",
                "--locale",
                "C.UTF-8",
                "--no-sync",
            ],
            owner,
            what="initdb",
        )
        pwfile.unlink()
        all_settings = {**FAST_SETTINGS, **(settings or {})}
        process, port = _start_server(
            bindir,
            data_dir=data_dir,
            socket_dir=socket_dir,
            log_file=log_file,
            settings=all_settings,
            owner=owner,
            password=password,
        )
        server = PgServer(LOOPBACK, port, SUPERUSER, password, socket_dir, data_dir, log_file)
        try:
            yield server
        finally:
            _stop_server(process)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _start_server(
    bindir: Path,
    *,
    data_dir: Path,
    socket_dir: Path,
    log_file: Path,
    settings: Mapping[str, str],
    owner: tuple[int, int] | None,
    password: str,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start postgres at a free port (retrying if another process takes the port first)."""
    last_error = ""
    for _attempt in range(3):
        port = free_port()
        command = [
            str(bindir / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            f"listen_addresses={LOOPBACK}",
            "-c",
            f"unix_socket_directories={socket_dir}",
        ]
        for key, value in settings.items():
            command += ["-c", f"{key}={value}"]
        with log_file.open("ab") as log:
            process = subprocess.Popen(
                _as_owner(command, owner), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        if _wait_ready(process, port, password):
            return process, port
        _stop_server(process)
        last_error = _tail(log_file, 30)
    raise PostgresUnavailableError(f"PostgreSQL did not start on {LOOPBACK} (data dir {data_dir}):\n{last_error}")


def _wait_ready(process: subprocess.Popen[bytes], port: int, password: str) -> bool:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    dsn = f"postgresql://{SUPERUSER}:{password}@{LOOPBACK}:{port}/postgres"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with psycopg.connect(dsn, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            time.sleep(0.1)
    return False


def _stop_server(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT), then SIGKILL if it does not stop in time."""
    if process.poll() is not None:
        return
    process.send_signal(2)  # SIGINT: PostgreSQL "fast" shutdown
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_SECONDS)


def _unprivileged_owner() -> tuple[int, int] | None:
    """(uid, gid) to run the server as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError as exc:
        raise PostgresUnavailableError(
            f"running as root and user {UNPRIVILEGED_USER!r} does not exist; PostgreSQL refuses to run as root"
        ) from exc
    return entry.pw_uid, entry.pw_gid


def _as_owner(command: list[str], owner: tuple[int, int] | None) -> list[str]:
    if owner is None:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        raise PostgresUnavailableError("running as root needs `setpriv` (util-linux) to drop privileges")
    return [setpriv, f"--reuid={owner[0]}", f"--regid={owner[1]}", "--clear-groups", "--", *command]


def _run_checked(command: list[str], owner: tuple[int, int] | None, what: str) -> None:
    result = subprocess.run(_as_owner(command, owner), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise PostgresUnavailableError(
            f"{what} failed (exit {result.returncode}): {' '.join(command)}\n{result.stdout}\n{result.stderr}"
        )


def _check_identifier(name: str) -> None:
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a plain lower-case SQL identifier: {name!r}")


def _tail(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])
