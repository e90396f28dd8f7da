"""The frontend release's build-info.json: which API base the page that nginx serves right now talks to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

BUILD_INFO_PATH = "/build-info.json"


class BuildInfoError(ValueError):
    """build-info.json is missing, not JSON or lacks api_base."""


@dataclass(frozen=True)
class BuildInfo:
    api_base: str  # as written by the build: "/legacy/api/v1", "/imaging/api/v1" (or an absolute URL)
    build_id: str | None
    built_at: str | None

    def api_url(self, web: str) -> str:
        """The absolute API base: api_base resolved against the web URL, without a trailing slash."""
        return urljoin(web.rstrip("/") + "/", self.api_base).rstrip("/")


def build_info_url(web: str) -> str:
    return web.rstrip("/") + BUILD_INFO_PATH


def parse_build_info(content: bytes, url: str) -> BuildInfo:
    try:
        payload: Any = json.loads(content)
    except (ValueError, UnicodeDecodeError) as e:
        raise BuildInfoError(f"{url} is not JSON: {content[:200]!r}") from e
    return build_info_from(payload, url)


def build_info_from(payload: Any, url: str) -> BuildInfo:
    if not isinstance(payload, dict) or not isinstance(payload.get("api_base"), str) or not payload["api_base"]:
        raise BuildInfoError(f"{url} has no api_base string: {json.dumps(payload)[:200]}")
    build_id = payload.get("build_id")
    built_at = payload.get("built_at")
    return BuildInfo(payload["api_base"], str(build_id) if build_id else None, str(built_at) if built_at else None)
