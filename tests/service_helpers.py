"""A real `python -m analysis serve` process, a webhook receiver, and office exports built from real posts."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from tests.conftest import REPO_ROOT, _free_port
from tests.layout_samples import gbk_safe, sample_frame


def cli(db: Path, *args: str, timeout: float = 600, stdin: str | None = None) -> subprocess.CompletedProcess:
    """A CLI verb in its own process, as an operator would run it beside the service."""
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=timeout, input=stdin, env={**os.environ, "OPINION_DB": str(db)})


def cli_json(db: Path, *args: str):
    done = cli(db, *args)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def wait_for(check, timeout: float = 180, interval: float = 0.5, what: str = "condition"):
    """Poll until `check()` returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def start_service(db: Path, tick_seconds: int = 2, dashboard: bool = True) -> tuple[subprocess.Popen, str | None]:
    port = _free_port()
    log = (db.parent / f"service-{port}.log").open("w")
    command = [sys.executable, "-m", "analysis", "serve", "--db", str(db), "--tick-seconds", str(tick_seconds)]
    command += ["--port", str(port), "--address", "127.0.0.1"] if dashboard else ["--no-dashboard"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    service_file = db.with_name(db.name + ".service.json")
    url = f"http://127.0.0.1:{port}" if dashboard else None

    def ready():
        if process.poll() is not None:
            pytest.fail("service exited: " + Path(log.name).read_text()[-3000:])
        try:  # a file left by a killed service names another pid: wait for ours
            if json.loads(service_file.read_text())["pid"] != process.pid:
                return False
        except (OSError, ValueError, KeyError):
            return False
        if url is None:
            return True
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    wait_for(ready, 120, what="the service to start")
    return process, url


@contextlib.contextmanager
def running_service(db: Path, tick_seconds: int = 2, dashboard: bool = True):
    process, url = start_service(db, tick_seconds, dashboard)
    try:
        yield process, url
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


@contextlib.contextmanager
def webhook_receiver():
    """A local robot endpoint that records every JSON body POSTed to it; yields (url, bodies)."""
    bodies: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            bodies.append(json.loads(self.rfile.read(length)))
            reply = b'{"errcode": 0, "errmsg": "ok"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", bodies
    finally:
        server.shutdown()
        server.server_close()


BURST_WORD = "化工厂爆炸"


def burst_exports(now: pd.Timestamp, seed: int = 3) -> dict[str, bytes]:
    """Two office exports of real posts about one topic: three quiet days, then a burst in the last 40 minutes.

    `weibo_contents.csv` is a MediaCrawler weibo export (UTF-8); `舆情导出_gbk.csv` a generic 舆情-system
    export saved by Excel in GBK. Every row is a distinct post, so all of them must be stored.
    """
    weibo = sample_frame("mediacrawler_weibo_note", n=150, seed=seed)
    yuqing = gbk_safe(sample_frame("yuqing_export", n=80, seed=seed + 1), "内容").head(60)
    files = {}
    for name, frame, text_col in (("weibo_contents.csv", weibo, "content"), ("舆情导出_gbk.csv", yuqing, "内容")):
        n = len(frame)
        burst = n // 2
        quiet = [now - pd.Timedelta(hours=3) - pd.Timedelta(minutes=int(m))
                 for m in range(0, 72 * 60, 72 * 60 // (n - burst))][: n - burst]
        loud = [now - pd.Timedelta(minutes=1 + (40 * i) // burst) for i in range(burst)]
        times = quiet + loud
        prefixes = ["安全生产检查：" for _ in quiet] + [f"{BURST_WORD}，" for _ in loud]
        frame[text_col] = [p + t for p, t in zip(prefixes, frame[text_col], strict=True)]
        if name.startswith("weibo"):
            frame["create_time"] = [str(int(t.timestamp())) for t in times]
            frame["create_date_time"] = [t.strftime("%Y-%m-%d %H:%M:%S+08:00") for t in times]
            files[name] = frame.to_csv(index=False).encode("utf-8")
        else:
            frame["发布时间"] = [t.tz_convert("Asia/Shanghai").strftime("%Y-%m-%d %H:%M:%S") for t in times]
            files[name] = frame.to_csv(index=False).encode("gbk")
    return files


def drop(folder: Path, name: str, data: bytes) -> Path:
    """Put a file into the watched folder the way a careful crawler does: written aside, renamed in."""
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{name}.part"
    partial.write_bytes(data)
    target = folder / name
    partial.replace(target)
    return target
