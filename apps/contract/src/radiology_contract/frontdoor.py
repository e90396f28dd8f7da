"""The front door: nginx serves the frontend and both APIs over HTTPS only, behind a login (HTTP Basic auth).

Every tool that talks to nginx verifies its certificate chain (against the CA bundle named by --ca-file or
$RADIOLOGY_WEB_CA_FILE, else the system trust store; verification is never turned off) and logs in with the
`user:password` line of the file named by --credentials-file or $RADIOLOGY_WEB_CREDENTIALS_FILE. The password
is read from a file only its owner may read (secret_files) and is never part of a message, a repr or evidence.
"""

from __future__ import annotations

import base64
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .secret_files import SecretFileError, read_secret

__all__ = [
    "CA_FILE_ENV",
    "CREDENTIALS_FILE_ENV",
    "LOGIN_REFUSED",
    "FrontDoor",
    "FrontDoorError",
    "SecretFileError",
    "parse_credentials",
]

CA_FILE_ENV = "RADIOLOGY_WEB_CA_FILE"
CREDENTIALS_FILE_ENV = "RADIOLOGY_WEB_CREDENTIALS_FILE"
LOGIN_REFUSED = "nginx answered 401"  # how every tool's message about a refused login begins


class FrontDoorError(ValueError):
    """The CA file cannot be used or the credentials file does not hold a valid `user:password` line."""


def _check(user: str, password: str, source: str) -> None:
    if not user or ":" in user:
        raise FrontDoorError(f"the credentials file {source} has no user name before the colon (or one with ':')")
    if not password:
        raise FrontDoorError(f"the credentials file {source} has no password after the colon")
    if any(c in user + password for c in "\r\n"):
        raise FrontDoorError(f"the credentials file {source} must hold one line only")


def parse_credentials(text: str, source: str) -> tuple[str, str]:
    """(user, password) of a `user:password` line, split at the first colon (the password may hold colons)."""
    user, colon, password = text.partition(":")
    if not colon:
        raise FrontDoorError(f"the credentials file {source} must hold user:password on one line")
    _check(user, password, source)
    return user, password


@dataclass(frozen=True)
class FrontDoor:
    ca_file: Path | None = None  # PEM bundle to verify nginx's chain with; None: the system trust store
    credentials: tuple[str, str] | None = field(default=None, repr=False)  # (user, password)
    credentials_file: Path | None = None  # where the credentials came from, for messages

    def __post_init__(self) -> None:
        if self.credentials is not None:
            _check(*self.credentials, str(self.credentials_file or "given"))

    @classmethod
    def from_files(cls, ca_file: str | Path | None, credentials_file: str | Path | None) -> FrontDoor:
        """The front door of these files (either may be None); SecretFileError or FrontDoorError naming a bad one."""
        credentials = None
        path = Path(credentials_file) if credentials_file else None
        if path is not None:
            credentials = parse_credentials(read_secret(path, "credentials"), str(path))
        return cls(Path(ca_file) if ca_file else None, credentials, path)

    @classmethod
    def from_env(
        cls,
        ca_file: str | Path | None = None,
        credentials_file: str | Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> FrontDoor:
        """As from_files; a file not given is taken from $RADIOLOGY_WEB_CA_FILE / $RADIOLOGY_WEB_CREDENTIALS_FILE."""
        env = os.environ if environ is None else environ
        return cls.from_files(ca_file or env.get(CA_FILE_ENV), credentials_file or env.get(CREDENTIALS_FILE_ENV))

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the chain and the host name (TLS 1.2 or newer)."""
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as e:
            detail = getattr(e, "strerror", None) or str(e) or type(e).__name__
            raise FrontDoorError(f"cannot use the CA file {self.ca_file}: {detail}") from e
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def headers(self) -> dict[str, str]:
        """The Authorization header of the login; none without credentials."""
        if self.credentials is None:
            return {}
        token = base64.b64encode(":".join(self.credentials).encode("utf-8")).decode("ascii")
        return {"Authorization": f"Basic {token}"}

    def check_url(self, url: str) -> str:
        """`url`, unless the login would go to it in the clear (FrontDoorError)."""
        if self.credentials is not None and urlsplit(url).scheme != "https":
            raise FrontDoorError(f"refusing to send the login of {self.credentials_file} to {url}: not https")
        return url

    def trust(self) -> str:
        return f"the CA file {self.ca_file}" if self.ca_file else "the system trust store"

    def describe(self) -> str:
        """What is trusted and who logs in, for logs and evidence (never the password)."""
        if self.credentials is None:
            return f"TLS verified against {self.trust()}; no login"
        return f"TLS verified against {self.trust()}; login as {self.credentials[0]!r} from {self.credentials_file}"

    def login_refused(self) -> str:
        """The message for a 401 from nginx."""
        if self.credentials is None:
            return (
                f"{LOGIN_REFUSED}: it asks for a login and no credentials were given "
                f"(--credentials-file PATH or ${CREDENTIALS_FILE_ENV})"
            )
        user = self.credentials[0]
        return f"{LOGIN_REFUSED}: the credentials file {self.credentials_file} (user {user!r}) was refused"
