"""Browser tests: Debian's Chromium driven by Playwright, phone emulation, zh-CN locale,
against the app served by a real WSGI server on 127.0.0.1."""

import shutil
import threading

import pytest
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, playwright):
    device = dict(playwright.devices["Pixel 7"])
    device.pop("default_browser_type", None)
    return {
        **browser_context_args,
        **device,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "service_workers": "allow",
    }


@pytest.fixture(scope="session")
def live_server(_app):
    """The session's app on a free loopback port, served by werkzeug in a thread."""
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
