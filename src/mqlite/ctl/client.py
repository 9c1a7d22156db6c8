"""A small blocking client of the admin API (`/_mqlite/api/`), for the CLI.

urllib and orjson only, so `mqlite ls` starts fast. An answer with an RFC 9457
problem document, a refused connection or a timeout raises `CtlError` with one line to
print and the exit status to return: 1 for a refused request, 69 (EX_UNAVAILABLE) when
no server answers.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import orjson

API = "/_mqlite/api"
DEFAULT_URL = "http://127.0.0.1:4566"
EX_UNAVAILABLE = 69


class CtlError(Exception):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


class Client:
    def __init__(self, url: str = DEFAULT_URL, auth: str | None = None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        auth = auth or os.environ.get("MQLITE_ADMIN_AUTH")  # "ID:SECRET" when keys are configured
        self._auth = "Basic " + base64.b64encode(auth.encode()).decode() if auth else None

    def request(self, method: str, path: str, body: Any = None, query: dict[str, Any] | None = None) -> Any:
        url = self.url + (path if path.startswith("/_") else API + path)
        if query:
            url += "?" + urllib.parse.urlencode({k: v for k, v in query.items() if v is not None})
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if self._auth:
            headers["Authorization"] = self._auth
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                problem = json.loads(raw)
                detail = problem.get("detail") or problem.get("title") or raw.decode()
            except (ValueError, AttributeError):
                detail = raw.decode(errors="replace")[:200] or exc.reason
            raise CtlError(f"{detail} (HTTP {exc.code})") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CtlError(f"cannot reach mqlite at {self.url}: {reason}", EX_UNAVAILABLE) from None
        return orjson.loads(raw) if raw else None

    def get(self, path: str, **query: Any) -> Any:
        return self.request("GET", path, query=query or None)

    def post(self, path: str, body: Any = None, **query: Any) -> Any:
        return self.request("POST", path, body if body is not None else {}, query or None)

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path)

    def resolve(self, name: str, kind: str | None = None) -> str:
        """The kind of the entity called `name` (queues, streams, routers, groups)."""
        if kind:
            return kind if kind.endswith("s") else kind + "s"
        found = [i["kind"] + "s" for i in self.get("/entities", prefix=name)["items"] if i["name"] == name]
        if not found:
            raise CtlError(f"no entity named {name!r}")
        if len(found) > 1:
            raise CtlError(f"{name!r} names a {' and a '.join(k[:-1] for k in found)}: say which with --kind")
        return str(found[0])
