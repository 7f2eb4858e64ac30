"""Browser tests: Debian's Chromium driven by Playwright, phone emulation, zh-CN locale,
against the app served by a real WSGI server on 127.0.0.1."""

import os
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
def browser_type_launch_args(browser_type_launch_args, playwright):
    # The phone's User-Agent for the whole browser, not only the emulated pages: the browser
    # fetches the service worker script itself, and a second User-Agent in one session trips
    # the login's session protection.
    phone = f"--user-agent={playwright.devices['Pixel 7']['user_agent']}"
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [*CHROMIUM_ARGS, phone],
    }


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


@pytest.fixture(autouse=True)
def _browser_closes_before_the_database_is_emptied(app):
    """Set up before ``page``, so torn down after it: the browser (and its service worker)
    has stopped sending requests by the time the tables are emptied."""
    yield


@pytest.fixture(scope="session")
def live_server(_app):
    """The session's app on a free loopback port, served by werkzeug in a thread."""
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


_skipped_e2e: list[str] = []


def pytest_runtest_logreport(report):
    if report.skipped:
        _skipped_e2e.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus):
    """Where browser tests are required (``INSPECT_REQUIRE_E2E=1``, set by scripts/test.sh),
    a skipped one fails the run: offline behaviour is only shown in a real browser."""
    if _skipped_e2e and os.environ.get("INSPECT_REQUIRE_E2E") == "1":
        print(f"\nbrowser tests were skipped: {', '.join(_skipped_e2e)}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
