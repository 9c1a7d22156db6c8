"""The web console at `/_mqlite/`: static pages served by the broker itself, offline.

Pages (one HTML shell, `static/index.html`; `console.js` draws each page from the
admin API with DOM text nodes only, never markup built from data):
    GET /_mqlite/                         overview: listeners, uptime, rates, alarms
    GET /_mqlite/entities                 every entity of every protocol, filterable
    GET /_mqlite/entity/{kind}/{name}     one entity: live charts, flow graph, messages,
                                          publish, purge, delete (404 page when missing)
    GET /_mqlite/static/{file}            the console's own CSS and JavaScript
The shell is served with status 404 and page `notfound` for an entity that does not
exist. Pages need an admin as the API does: `admin_guard` (the HTTP app's middleware
for `/_mqlite/*`) asks a browser for HTTP Basic credentials (401) once users are
configured. Assets are package data read once.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from mqlite.core.api import BrokerCore
from mqlite.protocols.http.admin.views import find
from mqlite.settings import Settings

BASE = "/_mqlite"
KINDS = ("queues", "streams", "routers", "groups")
TYPES = {".css": "text/css", ".js": "text/javascript", ".html": "text/html", ".svg": "image/svg+xml"}
# No script, style or connection from anywhere but the broker itself.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
       "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _asset(name: str) -> bytes:
    return (resources.files(__package__) / "static" / name).read_bytes()


class Console:
    """The page handlers; see module docstring."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.shell = _asset("index.html").decode()
        self.assets = {name: _asset(name) for name in ("console.css", "console.js", "charts.js")}

    def _page(self, request: web.Request, page: str, status: int = 200) -> web.Response:
        body = self.shell.replace("__PAGE__", page)  # a fixed word, never request data
        return web.Response(status=status, text=body, content_type="text/html", charset="utf-8",
                            headers=_headers())

    async def to_overview(self, request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{BASE}/")

    async def overview(self, request: web.Request) -> web.Response:
        return self._page(request, "overview")

    async def entities(self, request: web.Request) -> web.Response:
        return self._page(request, "entities")

    async def entity(self, request: web.Request) -> web.Response:
        kind, name = request.match_info["kind"], request.match_info["name"]
        if kind not in KINDS:
            return self._page(request, "notfound", 404)
        try:
            find(self.core, kind, name)
        except Exception:  # noqa: BLE001 - the admin API's 404 problem, or a deleted entity
            return self._page(request, "notfound", 404)
        return self._page(request, "entity")

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["file"]
        data = self.assets.get(name)
        if data is None:
            return web.Response(status=404, text="404: no such console asset\n")
        ctype = TYPES.get(name[name.rfind("."):], "application/octet-stream")
        return web.Response(body=data, content_type=ctype, headers=_headers())


def _headers() -> dict[str, str]:
    return {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache", "Referrer-Policy": "no-referrer"}


def mount(app: web.Application, core: BrokerCore, settings: Settings) -> None:
    """Add the console's pages and assets under `/_mqlite/`."""
    console = Console(core, settings)
    app.router.add_get(BASE, console.to_overview)
    app.router.add_get(f"{BASE}/", console.overview)
    app.router.add_get(f"{BASE}/entities", console.entities)
    app.router.add_get(f"{BASE}/entity/{{kind}}/{{name:.+}}", console.entity)
    app.router.add_get(f"{BASE}/static/{{file}}", console.static)
