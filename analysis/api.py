"""The service's loopback JSON API: how the CLI (and other local systems) reach the database while the service
owns it. DuckDB lets one process hold the file, so a second process cannot even read it; rather than queueing
or failing, a CLI verb that finds the file held sends its arguments here and the owner runs it on its own Store.

Security: the server binds 127.0.0.1 only, and every request must carry the bearer token from the service file
(`<database>.service.json`, mode 0600, beside the database), so only a user who can read the database folder can
use it. Routes (all JSON; see docs/api.md):

    GET  /api/status                    what `python -m analysis status --json` prints
    GET  /api/incidents                 the incident list;  GET /api/incidents/<id> one incident
    GET  /api/alerts?state=new          the alert log
    GET  /api/metrics/headline?from=&to=&channel=&topic=   headline numbers for a filter
    POST /api/tick                      ask for a tick now
    POST /api/cli   {"argv": [...]}     run a CLI verb in the owner: {"exit_code", "stdout", "stderr"}
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import secrets
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CLIENT_TIMEOUT = 3600.0  # a forwarded verb may render a briefing or import a big file


def service_file(db_path: Path) -> Path:
    db_path = Path(db_path).resolve()
    return db_path.with_name(db_path.name + ".service.json")


def write_service_file(db_path: Path, port: int, token: str, pid: int) -> Path:
    """Written 0600 and renamed into place, so no reader ever sees half a token."""
    path = service_file(db_path)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump({"port": port, "token": token, "pid": pid, "db": str(Path(db_path).resolve())}, handle)
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def read_service_file(db_path: Path) -> dict | None:
    try:
        return json.loads(service_file(db_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


# -- per-thread stdout/stderr: a forwarded verb prints into its own buffers while pages keep their output ------
class _ThreadStream(io.TextIOBase):
    def __init__(self, fallback):
        self._fallback = fallback
        self._local = threading.local()

    def _target(self):
        return getattr(self._local, "buffer", None) or self._fallback

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def isatty(self) -> bool:
        return False

    @contextlib.contextmanager
    def capture(self):
        buffer = io.StringIO()
        self._local.buffer = buffer
        try:
            yield buffer
        finally:
            self._local.buffer = None


_STREAMS: tuple[_ThreadStream, _ThreadStream] | None = None
_STREAMS_LOCK = threading.Lock()


def _thread_streams() -> tuple[_ThreadStream, _ThreadStream]:
    global _STREAMS
    with _STREAMS_LOCK:
        if _STREAMS is None:
            _STREAMS = (_ThreadStream(sys.stdout), _ThreadStream(sys.stderr))
            sys.stdout, sys.stderr = _STREAMS
        return _STREAMS


def run_verb(main: Callable[..., int], argv: list[str]) -> dict:
    """Run `python -m analysis ARGV` in this process (the owner) with its own stdout and stderr, through `main`
    (analysis.__main__.main, handed down by the `serve` verb: this module sits below the command line)."""
    out, err = _thread_streams()
    with out.capture() as stdout, err.capture() as stderr:
        try:
            code = main(list(argv), forwarded=True)
        except SystemExit as exc:  # argparse: -h, or a usage error
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
        except Exception as exc:
            log.exception("forwarded command %s failed", argv)
            print(f"error: {exc}", file=sys.stderr)
            code = 1
    return {"exit_code": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()}


# -- the server ---------------------------------------------------------------------------------------------------
Route = Callable[[dict[str, list[str]], dict], Any]


class ApiServer:
    """A threading HTTP server on 127.0.0.1 with bearer-token auth; `routes` maps (method, path prefix) → handler."""

    def __init__(self, routes: dict[tuple[str, str], Route], port: int = 0, token: str | None = None):
        self.token = token or secrets.token_urlsafe(32)
        self.routes = routes
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):  # noqa: D102 (quiet: requests go to the debug log)
                log.debug("api %s", fmt % args)

            def _send(self, status: int, payload) -> None:
                body = json.dumps(payload, ensure_ascii=False, default=str, allow_nan=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self, method: str) -> None:
                if not secrets.compare_digest(self.headers.get("Authorization", ""), f"Bearer {server.token}"):
                    self._send(401, {"error": "unauthorized"})
                    return
                parsed = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(parsed.query)
                body = {}
                if method == "POST":
                    length = int(self.headers.get("Content-Length") or 0)
                    try:
                        body = json.loads(self.rfile.read(length) or b"{}")
                    except ValueError:
                        self._send(400, {"error": "body is not JSON"})
                        return
                route = server._route(method, parsed.path)
                if route is None:
                    self._send(404, {"error": f"no route {method} {parsed.path}"})
                    return
                handler, rest = route
                try:
                    self._send(200, handler({**query, "_path": [rest]}, body))
                except LookupError as exc:
                    self._send(404, {"error": str(exc)})
                except ValueError as exc:
                    self._send(400, {"error": str(exc)})
                except Exception as exc:
                    log.exception("api %s %s failed", method, parsed.path)
                    self._send(500, {"error": f"{type(exc).__name__}: {exc}"})

            def do_GET(self):  # noqa: N802 (http.server's naming)
                self._handle("GET")

            def do_POST(self):  # noqa: N802
                self._handle("POST")

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="opinion-api", daemon=True)

    def _route(self, method: str, path: str) -> tuple[Route, str] | None:
        best = None
        for (route_method, prefix), handler in self.routes.items():
            if route_method == method and (path == prefix or path.startswith(prefix.rstrip("/") + "/")):
                if best is None or len(prefix) > len(best[0]):
                    best = (prefix, handler)
        if best is None:
            return None
        return best[1], path[len(best[0]):].strip("/")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


# -- the client ---------------------------------------------------------------------------------------------------
class ServiceUnavailable(RuntimeError):
    """No live service answers for this database (none running, or its service file is stale)."""


def call(db_path: Path, method: str, path: str, body: dict | None = None, timeout: float = CLIENT_TIMEOUT):
    info = read_service_file(db_path)
    if info is None:
        raise ServiceUnavailable(f"no service file beside {db_path}")
    data = None if body is None else json.dumps(body, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        f"http://127.0.0.1:{int(info['port'])}{path}", data=data, method=method,
        headers={"Authorization": f"Bearer {info['token']}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (loopback only)
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode("utf-8", "replace")
        raise RuntimeError(f"service answered HTTP {exc.code}: {detail}") from exc
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        raise ServiceUnavailable(f"service for {db_path} does not answer: {exc}") from exc


def forward(db_path: Path, argv: list[str]) -> int:
    """Run a CLI verb in the service that holds `db_path`, echoing its output here."""
    result = call(db_path, "POST", "/api/cli", {"argv": argv})
    sys.stdout.write(result.get("stdout", ""))
    sys.stderr.write(result.get("stderr", ""))
    return int(result.get("exit_code", 1))
