"""Offline budgets, measured in the browser (Debian's Chromium, Pixel 7, zh-CN).

A grid worker with 30 buildings; the app served on 127.0.0.1 behind a gzip layer (level 6),
as a production reverse proxy would serve it. Bytes are what the browser received (encoded
body sizes from its network events), the service worker's own downloads included.

1. The inspection page's first load, logged in but with nothing on the phone yet: bytes by
   type until the phone is offline-ready. Budget: <= 100 KB, of it <= 30 KB JavaScript.
2. Its repeat load: what still comes from the network and what the service worker serves.
3. From the first visit (login page, login, home) to offline-ready, then a check that the
   home page, every building page and all 30 inspection forms open with the network off.
   Budget: <= 150 KB. Baseline, from the same run: the same pages kept one by one (the 30
   real inspection forms, the building pages, home), gzip sizes.
4. With --lighthouse (Lighthouse 11.7.1: `npm install lighthouse@11.7.1`, then its bin on PATH
   or in LIGHTHOUSE): scores of the login, home and inspection pages, mobile. Budget:
   performance, accessibility and best practices >= 0.95, installable.

    .venv/bin/python bench/pwa_budget.py [--buildings 30] [--lighthouse]

Exits 1 when a budget is exceeded.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inspect_app import create_app  # noqa: E402
from inspect_app.db import db  # noqa: E402

PASSWORD = "bench-password-1"
COMPRESSIBLE = ("text/", "application/json", "application/manifest+json", "javascript")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


class Gzip:
    """WSGI middleware: gzip text-like responses for clients that accept it (level 6)."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if "gzip" not in environ.get("HTTP_ACCEPT_ENCODING", ""):
            return self.app(environ, start_response)
        seen = {}
        chunks: list[bytes] = []

        def capture(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return chunks.append

        result = self.app(environ, capture)
        try:
            chunks.extend(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        body = b"".join(chunks)
        headers = seen["headers"]
        names = {k.lower(): v for k, v in headers}
        kind = names.get("content-type", "")
        if body and "content-encoding" not in names and any(t in kind for t in COMPRESSIBLE):
            body = gzip.compress(body, 6)
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers += [
                ("Content-Encoding", "gzip"),
                ("Content-Length", str(len(body))),
                ("Vary", "Accept-Encoding"),
            ]
        start_response(seen["status"], headers)
        return [body]


def build_grid(app, n: int) -> list[int]:
    """A district, one grid of ``n`` buildings (mixed classes, some open hazards), the
    shipped checklist, and an inspector. Returns the building ids."""
    from inspect_app.auth import hash_password
    from inspect_app.checklists import load_checklist
    from inspect_app.models import Area, Building, Hazard, User

    with app.app_context():
        load_checklist(db.session, ROOT / "inspect_app" / "checklists" / "catalog.toml")
        district = Area(code="D", name="綦江区", level="district", path="/D/")
        grid = Area(code="G", name="古南一网格", level="grid", path="/D/G/", parent=district)
        db.session.add_all([district, grid])
        ids = []
        for i in range(n):
            public = i % 4 == 3
            b = Building(
                code=f"QJ-{i + 1:04d}",
                name=f"{'金科广场' if public else '滨江花园'}{i + 1}栋",
                address=f"古南街道滨江路{i + 1}号",
                area=grid,
                use="public" if public else "residential",
                height_m=Decimal(str(30 + (i * 7) % 90)),
                storeys=10 + (i * 2) % 30,
                has_sprinklers=i % 2 == 0,
                has_fire_alarm_system=i % 3 == 0,
                has_pressure_stabilizer=i % 5 == 0,
                management_unit=None if i % 6 == 5 else "重庆安居乐物业管理有限公司",
            )
            db.session.add(b)
            db.session.flush()
            ids.append(b.id)
            for k in range(i % 3):
                db.session.add(
                    Hazard(
                        building_id=b.id,
                        category="LIFE",
                        severity="general",
                        description=f"{k + 1}单元楼道堆放杂物，占用疏散通道",
                        status="open",
                    )
                )
        db.session.add(
            User(
                username="inspector",
                display_name="张网格",
                role="inspector",
                area=grid,
                password_hash=hash_password(PASSWORD),
            )
        )
        db.session.commit()
    return ids


class Recorder:
    """Every finished request of a browser context, pages' and service worker's alike."""

    def __init__(self, context):
        self.requests = []
        self.on = False
        context.on("requestfinished", lambda r: self.on and self.requests.append(r))

    def start(self):
        self.requests, self.on = [], True

    def stop(self) -> list[dict]:
        self.on = False
        rows = []
        for r in self.requests:
            response = r.response()
            if response is None:
                continue
            sizes = r.sizes()
            body = sizes["responseBodySize"]
            if response.from_service_worker:
                body = 0  # served by the worker: nothing crossed the network
            elif r.url.endswith("/sw.js") and response.status == 200:
                # The worker script's own body size is not reported: gzip what it received.
                body = len(gzip.compress(response.body(), 6))
            kind = response.headers.get("content-type", "").split(";")[0]
            rows.append(
                {
                    "url": r.url,
                    "kind": _kind(kind, r.url),
                    "by": "worker" if r.service_worker else "page",
                    "from_worker": response.from_service_worker,
                    "status": response.status,
                    "body": max(body, 0),
                    "headers": 0 if response.from_service_worker else sizes["responseHeadersSize"],
                }
            )
        return rows


def _kind(mime: str, url: str) -> str:
    if "javascript" in mime:
        return "js"
    if mime == "text/css":
        return "css"
    if mime == "text/html":
        return "html"
    if mime.startswith("image/"):
        return "image"
    if "manifest" in mime:
        return "manifest"
    if "json" in mime:
        return "json"
    return mime or "other"


def report(title: str, rows: list[dict]) -> dict:
    by_kind = defaultdict(int)
    by_actor = defaultdict(int)
    for row in rows:
        by_kind[row["kind"]] += row["body"]
        by_actor[row["by"]] += row["body"]
    body = sum(by_kind.values())
    headers = sum(r["headers"] for r in rows)
    network = sum(1 for r in rows if not r["from_worker"])
    served = sum(1 for r in rows if r["from_worker"])
    print(f"\n== {title}")
    if "--verbose" in sys.argv:
        for row in rows:
            line = f"{row['by']:<6} {row['status']} {row['body']:>7} {row['kind']:<8}"
            print(f"    {line} {row['url'][-60:]}")
    for kind, size in sorted(by_kind.items(), key=lambda kv: -kv[1]):
        print(f"  {kind:<9} {size / 1024:8.1f} KB")
    print(
        f"  {'total':<9} {body / 1024:8.1f} KB compressed bodies (+{headers / 1024:.1f} KB headers)"
    )
    print(
        f"  page {by_actor['page'] / 1024:.1f} KB,"
        f" service worker {by_actor['worker'] / 1024:.1f} KB;"
        f" {network} responses over the network, {served} served by the service worker"
    )
    return {"body": body, "js": by_kind["js"], "headers": headers, "served": served}


def login(context, base: str) -> None:
    """Log in through HTTP only: no page, so no service worker yet."""
    page = context.request.get(f"{base}/login").text()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    r = context.request.post(
        f"{base}/login",
        form={"username": "inspector", "password": PASSWORD, "csrf_token": token},
        max_redirects=0,
    )
    assert r.status == 302, r.status


def wait_ready(page) -> None:
    page.wait_for_selector("html[data-offline-ready]", state="attached", timeout=60_000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)


def baseline(context, base: str, ids: list[int]) -> int:
    """The pages a phone would keep one by one, gzip sizes (level 6)."""
    urls = (
        ["/"] + [f"/buildings/{i}" for i in ids] + [f"/buildings/{i}/inspections/new" for i in ids]
    )
    return sum(len(gzip.compress(context.request.get(base + u).body(), 6)) for u in urls)


LH_AGENT = (
    "Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36"
)


def lighthouse(base: str, urls: list[str]) -> bool:
    """Lighthouse 11.7.1 (the last with a PWA category), mobile, on each URL; logged in by a
    cookie made with the User-Agent Lighthouse's Chrome is given (sessions are bound to it)."""
    binary = os.environ.get("LIGHTHOUSE") or shutil.which("lighthouse")
    local = ROOT / "bench" / ".lighthouse" / "node_modules" / ".bin" / "lighthouse"
    if not binary and local.exists():
        binary = str(local)
    if not binary:
        print("\n== Lighthouse: not found (npm install lighthouse@11.7.1; LIGHTHOUSE=path/to/bin)")
        return True
    cookie = _http_login(base, LH_AGENT)
    flags = (
        "--headless=new --no-sandbox --disable-gpu --disable-background-networking "
        f"--disable-component-update --no-first-run --disable-sync --disable-quic "
        f"--user-agent={LH_AGENT}"
    )
    ok = True
    print("\n== Lighthouse (mobile)")
    for url in urls:
        with tempfile.TemporaryDirectory() as out:
            path = Path(out) / "report.json"
            cmd = [
                binary,
                base + url,
                "--quiet",
                "--form-factor=mobile",
                "--output=json",
                f"--output-path={path}",
                f"--emulated-user-agent={LH_AGENT}",
                f"--chrome-flags={flags}",
                "--extra-headers=" + json.dumps({"Cookie": cookie}),
            ]
            env = {**os.environ, "CHROME_PATH": CHROMIUM}
            subprocess.run(cmd, check=False, env=env, capture_output=True)
            if not path.exists():
                print(f"  {url}: no report")
                ok = False
                continue
            data = json.loads(path.read_text())
            scores = {k: v["score"] for k, v in data["categories"].items()}
            audits = data["audits"]
            print(
                f"  {url:<28} "
                + " ".join(f"{k}={v}" for k, v in scores.items())
                + f" installable={audits.get('installable-manifest', {}).get('score')}"
                + f" LCP={audits['largest-contentful-paint'].get('displayValue', '?')}"
            )
            for key in ("performance", "accessibility", "best-practices"):
                if (scores.get(key) or 0) < 0.95:
                    ok = False
                    failing = [
                        a.get("id", k)
                        for k, a in audits.items()
                        if a.get("score") is not None
                        and a["score"] < 0.9
                        and k in {r["id"] for r in data["categories"][key]["auditRefs"]}
                        and a.get("scoreDisplayMode") in ("binary", "numeric")
                    ]
                    print(f"    {key} below 0.95: {', '.join(failing)}")
    return ok


def _http_login(base: str, agent: str) -> str:
    """The session cookie of a login made over plain HTTP with ``agent``."""
    import http.cookiejar
    import urllib.parse
    import urllib.request

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", agent)]
    page = opener.open(f"{base}/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    form = {"username": "inspector", "password": PASSWORD, "csrf_token": token}
    opener.open(f"{base}/login", data=urllib.parse.urlencode(form).encode())
    return "; ".join(f"{c.name}={c.value}" for c in jar)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--buildings", type=int, default=30)
    parser.add_argument("--lighthouse", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="list every response")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="pwa-budget-"))
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp / 'bench.db'}",
            "SECRET_KEY": "bench",
            "AUDIT_LOG": os.devnull,
            "PHOTO_DIR": str(tmp / "photos"),
        }
    )
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
    ids = build_grid(app, args.buildings)
    server = make_server("127.0.0.1", 0, Gzip(app), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_port}"
    ok = True
    with sync_playwright() as p:
        device = dict(p.devices["Pixel 7"])
        device.pop("default_browser_type", None)
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=[*ARGS, f"--user-agent={device['user_agent']}"]
        )
        options = {**device, "locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
        print(f"{args.buildings} buildings; Chromium {browser.version}; gzip level 6")

        # 1-2. The inspection page: first load, then again.
        context = browser.new_context(**options, service_workers="allow")
        recorder = Recorder(context)
        login(context, base)
        page = context.new_page()
        recorder.start()
        page.goto(f"{base}/buildings/{ids[0]}/inspections/new")
        wait_ready(page)
        first = report("inspection page, first load (until offline-ready)", recorder.stop())
        recorder.start()
        page.reload()
        page.wait_for_load_state("networkidle")
        page.wait_for_timeout(300)
        repeat = report("inspection page, repeat load", recorder.stop())
        context.close()
        ok &= check("first load <= 100 KB", first["body"], 100 * 1024)
        ok &= check("first load JavaScript <= 30 KB", first["js"], 30 * 1024)
        ok &= check("repeat load: assets served by the service worker", repeat["served"], None)

        # 3. From the login page to offline-ready, then everything with the network off.
        context = browser.new_context(**options, service_workers="allow")
        recorder = Recorder(context)
        page = context.new_page()
        recorder.start()
        page.goto(f"{base}/login")
        page.get_by_label("用户名").fill("inspector")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        wait_ready(page)
        ready = report("first visit to offline-ready (login page, login, home)", recorder.stop())
        naive = baseline(context, base, ids)
        print(
            f"  baseline, the same pages kept one by one: {naive / 1024:.1f} KB "
            f"(ratio {naive / ready['body']:.1f}x)"
        )
        ok &= check("offline-ready <= 150 KB", ready["body"], 150 * 1024)

        context.set_offline(True)
        opened = 0
        page.goto(f"{base}/")
        rows = page.locator(".list .row").count()
        for i in ids:
            page.goto(f"{base}/buildings/{i}")
            page.wait_for_selector("h1")
            page.goto(f"{base}/buildings/{i}/inspections/new")
            page.wait_for_selector("form.inspection[data-ready]", timeout=10_000)
            if page.locator('fieldset.item[id^="item-"]').count() > 0:
                opened += 1
        print(
            f"\n  offline: home lists {rows} buildings; {opened}/{len(ids)} inspection forms open"
        )
        ok &= check("every form opens offline", opened, None, expected=len(ids))
        context.close()
        browser.close()

    if args.lighthouse:
        ok &= lighthouse(base, ["/login", "/", f"/buildings/{ids[0]}/inspections/new"])
    server.shutdown()
    shutil.rmtree(tmp, ignore_errors=True)
    print("\nall budgets met" if ok else "\nBUDGET EXCEEDED")
    return 0 if ok else 1


def check(label: str, value: int, limit: int | None, expected: int | None = None) -> bool:
    if limit is not None:
        good = value <= limit
        print(f"  [{'ok' if good else 'FAIL'}] {label}: {value / 1024:.1f} KB")
    elif expected is not None:
        good = value == expected
        print(f"  [{'ok' if good else 'FAIL'}] {label}: {value}/{expected}")
    else:
        good = value > 0
        print(f"  [{'ok' if good else 'FAIL'}] {label}: {value} responses")
    return good


if __name__ == "__main__":
    sys.exit(main())
