"""Web fixtures: a registry with one account per role, the app, signed-in clients, a live server
and headless Chromium (Debian's package, driven by Playwright; never a downloaded browser).

Accounts: username = role name, password `PASSWORDS[role]`. Chromium comes from
`DIVERT_CHROMIUM` or /usr/bin/chromium; without it the browser tests skip with the reason, except
under CI (`CI` set), where they fail (.ci/run installs it).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from divert.registry import service
from divert.web.accounts import ROLES

TODAY = service.today()
"""The registry's today for the whole run: a run that crosses midnight sees one calendar day."""

PASSWORDS = {role: f"pw-{len(role)}-{role[::-1]}-2026!" for role in ROLES}
SECRET = "test-session-secret-not-for-production"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


@pytest.fixture(autouse=True)
def _one_day(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold the registry's day at TODAY (tests seed and read that day's tests and hearings)."""
    monkeypatch.setattr(service, "today", lambda: TODAY)
    monkeypatch.setattr(service, "local_now",
                        lambda: dt.datetime.combine(TODAY, dt.datetime.now().time()).replace(microsecond=0))


def _init_registry(url: str) -> None:
    import contextlib
    import io

    from divert.cli import main

    with contextlib.redirect_stdout(io.StringIO()):
        try:
            main(["registry", "init", "--db", url])
        except SystemExit as exc:  # pragma: no cover
            raise AssertionError(f"registry init failed: {exc.code}") from None


def make_users(url: str) -> None:
    """One account per role (username = role)."""
    from divert.registry.store import Registry
    from divert.web.accounts import create_user

    reg = Registry(url)
    with reg.write("test-setup", "create test users") as tx:
        for role in ROLES:
            create_user(tx, role, PASSWORDS[role], role, f"Test {role.replace('_', ' ')}",
                        programmes=None)
    reg.dispose()


@pytest.fixture(scope="session")
def web_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from divert.registry.crypto import create_key_file

    path = tmp_path_factory.mktemp("web-key") / "registry.key"
    create_key_file(path)
    return path


@pytest.fixture(scope="session")
def _web_template(tmp_path_factory: pytest.TempPathFactory, web_key: Path) -> Path:
    """A registry initialised once, with the role accounts; copied for each test."""
    old = os.environ.get("DIVERT_KEY_FILE")
    os.environ["DIVERT_KEY_FILE"] = str(web_key)
    try:
        path = tmp_path_factory.mktemp("web-template") / "registry.db"
        _init_registry(f"sqlite:///{path}")
        make_users(f"sqlite:///{path}")
    finally:
        if old is None:
            os.environ.pop("DIVERT_KEY_FILE", None)
        else:
            os.environ["DIVERT_KEY_FILE"] = old
    return path


@pytest.fixture
def web_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, web_key: Path) -> Path:
    for name in ("DIVERT_KEY", "DIVERT_DATABASE_URL", "XDG_CONFIG_HOME", "DIVERT_SESSION_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIVERT_KEY_FILE", str(web_key))
    monkeypatch.chdir(tmp_path)
    return web_key


@pytest.fixture
def registry_url(tmp_path: Path, _web_template: Path, web_env: Path) -> str:
    """A fresh copy of the template registry."""
    target = tmp_path / "registry.db"
    shutil.copyfile(_web_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app(registry_url: str, tmp_path: Path) -> Any:
    from divert.web.app import create_app

    return create_app(registry_url, secret=SECRET, work_dir=tmp_path / "web-work")


class Client(TestClient):
    """A test client that knows its session's CSRF token."""

    csrf: str = ""

    def refresh_csrf(self) -> str:
        self.csrf = self.get("/api/v1/session").json()["csrf_token"]
        return self.csrf

    def form(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form with the CSRF token, as a browser would."""
        return self.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def api(self, method: str, url: str, **kwargs: Any) -> Any:
        """A JSON API call with the CSRF header."""
        headers = {"X-CSRF-Token": self.csrf, **kwargs.pop("headers", {})}
        return self.request(method, url, headers=headers, **kwargs)


def sign_in(app: Any, role: str | None) -> Client:
    client = Client(app, follow_redirects=False)
    client.refresh_csrf()
    if role is not None:
        r = client.post("/api/v1/session", json={"username": role, "password": PASSWORDS[role]},
                        headers={"X-CSRF-Token": client.csrf})
        assert r.status_code == 200, r.text
        client.csrf = r.json()["csrf_token"]
    return client


@pytest.fixture
def client_for(app: Any) -> Iterator[Callable[[str | None], Client]]:
    """`client_for("judge")`: a client signed in with that role (None: anonymous)."""
    made: list[Client] = []

    def factory(role: str | None) -> Client:
        c = sign_in(app, role)
        made.append(c)
        return c

    yield factory
    for c in made:
        c.close()


# ---- live server and browser -----------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server(app: Any) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


def chromium_path() -> str | None:
    named = os.environ.get("DIVERT_CHROMIUM")
    if named:
        return named
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Debian Chromium through Playwright (never a browser Playwright downloads)."""
    path = chromium_path()
    if path is None:
        reason = "no Chromium: install Debian's chromium package (as .ci/run does) or set DIVERT_CHROMIUM"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page_for(browser: Any, live_server: LiveServer) -> Iterator[Callable[[str | None], Any]]:
    """`page_for("clinician")`: a fresh browser context signed in with that role via the login form.

    Any request the page makes to another host fails the test (no page loads from the network).
    """
    contexts: list[Any] = []
    outside: list[str] = []

    def factory(role: str | None) -> Any:
        ctx = browser.new_context(base_url=live_server.url)
        ctx.set_default_timeout(15000)

        def watch(request: Any) -> None:
            if not request.url.startswith(live_server.url) and not request.url.startswith(
                    ("data:", "blob:", "about:")):
                outside.append(request.url)

        ctx.on("request", watch)
        contexts.append(ctx)
        page = ctx.new_page()
        if role is not None:
            page.goto("/login")
            page.get_by_label("Username").fill(role)
            page.get_by_label("Password").fill(PASSWORDS[role])
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url(live_server.url + "/")
        return page

    yield factory
    for ctx in contexts:
        ctx.close()
    assert not outside, f"pages loaded from the network: {outside[:5]}"


def unlabelled_fields(page: Any) -> list[str]:
    """Form fields on the page without an accessible name (label, aria-label or aria-labelledby)."""
    return page.evaluate("""() => {
        const bad = [];
        for (const el of document.querySelectorAll('input, select, textarea')) {
            if (el.type === 'hidden' || el.type === 'submit' || el.type === 'button') continue;
            const labelled = (el.labels && el.labels.length) || el.getAttribute('aria-label')
                || el.getAttribute('aria-labelledby') || el.closest('label');
            if (!labelled) bad.push(el.name || el.id || el.outerHTML.slice(0, 60));
        }
        return bad;
    }""")


AXE_SCRIPT = Path(__file__).parent / "vendor" / "axe-4.14.1.min.js"


def axe_violations(page: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """WCAG 2.1 A/AA violations axe-core (vendored, MPL-2.0) finds on the page, of the given impacts.

    Each entry reads "rule-id: first offending selector (help text)" so a failing assert says what to fix.
    """
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the app's CSP (script-src 'self') stays in force.
        page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;true")
    found = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag',
            values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            target: v.nodes.length ? String(v.nodes[0].target) : ''}));
    }""")
    return [f"{v['id']}: {v['target']} ({v['help']})" for v in found if v["impact"] in impacts]


def horizontal_overflow(page: Any, width: int = 390) -> int:
    """Pixels the page is wider than a `width`-px viewport (0 when nothing scrolls sideways)."""
    page.set_viewport_size({"width": width, "height": 844})
    return int(page.evaluate(
        "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
        f" - {width}"))
