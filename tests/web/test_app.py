"""Accounts, sessions, CSRF, roles and headers of the web application."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from divert.registry.store import Registry
from divert.web.accounts import PERMISSIONS, ROLES, authenticate

from ..conftest import run_cli
from .conftest import PASSWORDS, sign_in, unlabelled_fields


def test_password_is_stored_as_argon2_hash_only(registry_url: str) -> None:
    reg = Registry(registry_url)
    with reg.read() as conn:
        row = conn.exec_driver_sql("SELECT password_hash FROM users WHERE username='judge'").first()
        assert row is not None and row[0].startswith("$argon2id$")
        assert PASSWORDS["judge"] not in row[0]
        assert authenticate(conn, "judge", PASSWORDS["judge"]) is not None
        assert authenticate(conn, "judge", PASSWORDS["judge"] + "x") is None
        assert authenticate(conn, "nobody", PASSWORDS["judge"]) is None
    reg.dispose()


def test_anonymous_pages_redirect_to_login_and_api_says_401(client_for: Any) -> None:
    c = client_for(None)
    r = c.get("/admin/users?x=1")
    assert r.status_code == 303 and r.headers["location"] == "/login?next=/admin/users%3Fx%3D1"
    assert c.get("/api/v1/me").status_code == 401


def test_login_form_signs_in_and_wrong_password_is_refused(client_for: Any) -> None:
    c = client_for(None)
    bad = c.form("/login", {"username": "judge", "password": "wrong-password-123"})
    assert bad.status_code == 401 and "wrong password" in bad.text
    ok = c.form("/login", {"username": "judge", "password": PASSWORDS["judge"], "next": "/book"})
    assert ok.status_code == 303 and ok.headers["location"] == "/book"
    assert c.get("/api/v1/me").json()["role"] == "judge"


def test_login_never_redirects_off_site(client_for: Any) -> None:
    c = client_for(None)
    r = c.form("/login", {"username": "judge", "password": PASSWORDS["judge"],
                          "next": "//evil.example/x"})
    assert r.headers["location"] == "/"


def test_unsafe_requests_need_the_session_csrf_token(client_for: Any) -> None:
    c = client_for(None)
    r = c.post("/login", data={"username": "judge", "password": PASSWORDS["judge"]})
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post("/login", data={"username": "judge", "password": PASSWORDS["judge"],
                               "csrf_token": "forged"})
    assert r.status_code == 403
    admin = client_for("admin")
    r = admin.post("/api/v1/session", json={"username": "x", "password": "y"})  # no header
    assert r.status_code == 403
    r = admin.post("/admin/users", data={"username": "eve", "password": "long-enough-pass",
                                         "role": "admin"})
    assert r.status_code == 403
    with Registry(admin.app.state.registry.url).read() as conn:  # nothing was created
        assert conn.exec_driver_sql("SELECT count(*) FROM users WHERE username='eve'").scalar() == 0


def test_session_cookie_is_httponly_and_strict(app: Any) -> None:
    c = sign_in(app, "judge")
    cookie = [h for k, h in c.get("/").headers.multi_items() if k == "set-cookie"]
    login = c.post("/api/v1/session", json={"username": "judge", "password": PASSWORDS["judge"]},
                   headers={"X-CSRF-Token": c.csrf})
    cookie = [h for k, h in login.headers.multi_items() if k == "set-cookie"]
    assert cookie and "httponly" in cookie[0].lower() and "samesite=strict" in cookie[0].lower()


def test_secure_cookie_when_https_only(registry_url: str, tmp_path: Path) -> None:
    from divert.web.app import create_app

    app = create_app(registry_url, secret="s", https_only=True, work_dir=tmp_path)
    from .conftest import Client

    c = Client(app, base_url="https://testserver", follow_redirects=False)
    c.refresh_csrf()
    r = c.post("/api/v1/session", json={"username": "judge", "password": PASSWORDS["judge"]},
               headers={"X-CSRF-Token": c.csrf})
    cookie = [h for k, h in r.headers.multi_items() if k == "set-cookie"]
    assert r.status_code == 200 and cookie and "; secure" in cookie[0].lower()
    plain = sign_in(app, None)  # over plain http the cookie never comes back: no session, no CSRF
    r = plain.post("/api/v1/session", json={"username": "judge", "password": PASSWORDS["judge"]},
                   headers={"X-CSRF-Token": plain.csrf})
    assert r.status_code == 403


def test_security_headers(client_for: Any) -> None:
    r = client_for(None).get("/login")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"


def test_assets_ship_with_the_package(client_for: Any) -> None:
    c = client_for(None)
    page = c.get("/login").text
    assert "/static/vendor/htmx-2.0.11.min.js" in page and "https://" not in page
    assert c.get("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert c.get("/static/vendor/chart-4.6.1.umd.min.js").status_code == 200


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_only_admin_manages_accounts(client_for: Any, role: str) -> None:
    c = client_for(role)
    r = c.get("/admin/users")
    assert r.status_code == 403 and "may not create and deactivate accounts" in r.text
    r = c.form("/admin/users", {"username": "mallory", "password": "a-long-password-1",
                                "role": "admin"})
    assert r.status_code == 403


def test_admin_creates_and_deactivates_an_account(client_for: Any) -> None:
    admin = client_for("admin")
    r = admin.form("/admin/users", {"username": "dana", "password": "short", "role": "judge",
                                    "programmes": "default"})
    assert r.status_code == 400 and "password: too short" in r.text
    r = admin.form("/admin/users", {"username": "dana", "password": "dana-strong-pass-1",
                                    "role": "nonsense", "programmes": "default"})
    assert r.status_code == 400 and "role: unknown" in r.text
    r = admin.form("/admin/users", {"username": "dana", "password": "a-strong-pass-for-d",
                                    "role": "judge", "programmes": "nowhere"})
    assert r.status_code == 400 and "programme: unknown" in r.text and "known: default" in r.text
    r = admin.form("/admin/users", {"username": "dana", "password": "a-strong-pass-for-d",
                                    "role": "judge", "display_name": "Dana",
                                    "programmes": "default"})
    assert r.status_code == 303
    dana = admin.__class__(admin.app, follow_redirects=False)
    dana.refresh_csrf()
    r = dana.post("/api/v1/session", json={"username": "dana", "password": "a-strong-pass-for-d"},
                  headers={"X-CSRF-Token": dana.csrf})
    assert r.status_code == 200
    dana.csrf = r.json()["csrf_token"]
    assert dana.get("/api/v1/me").status_code == 200
    assert admin.form("/admin/users/dana/active", {"active": "false"}).status_code == 303
    assert dana.get("/api/v1/me").status_code == 401  # the open session ends at once


def test_every_role_has_its_own_capabilities() -> None:
    assert "registry.identify" not in PERMISSIONS["analyst"]
    assert "registry.read" not in PERMISSIONS["analyst"]
    assert PERMISSIONS["analyst"] >= {"simulate", "registry.aggregates"}
    clinical = {r for r in ROLES if "notes.clinical" in PERMISSIONS[r]}
    assert clinical == {"clinician", "case_manager"}
    assert "registry.identify" not in PERMISSIONS["admin"]


def _stdin(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(text))


def test_create_user_command_bootstraps_the_first_admin(web_env: Path, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert run_cli(["registry", "init", "--db", db], capsys)[0] == 0
    code, out, _ = run_cli(["admin", "list-users", "--db", db, "--json"], capsys)
    assert code == 0 and out.strip() == "[]"  # no default account
    _stdin(monkeypatch, "short\n")
    code, _, err = run_cli(["admin", "create-user", "root", "--role", "admin", "--password-stdin",
                            "--db", db], capsys)
    assert code == 2 and err.startswith("error: password: too short")
    code, _, err = run_cli(["admin", "create-user", "root", "--role", "king", "--db", db], capsys)
    assert code == 2 and "role: unknown 'king'" in err
    _stdin(monkeypatch, "a-very-good-passphrase\n")
    code, out, err = run_cli(["admin", "create-user", "root", "--role", "admin", "--password-stdin",
                              "--db", db], capsys)
    assert code == 0, err
    reg = Registry(db)
    with reg.read() as conn:
        assert authenticate(conn, "root", "a-very-good-passphrase") is not None
    reg.dispose()
    _stdin(monkeypatch, "another-good-passphrase\n")
    code, _, err = run_cli(["admin", "create-user", "root", "--role", "judge", "--password-stdin",
                            "--db", db], capsys)
    assert code == 2 and "--programme: which programmes may the account see?" in err
    _stdin(monkeypatch, "another-good-passphrase\n")
    code, _, err = run_cli(["admin", "create-user", "root", "--role", "judge", "--password-stdin",
                            "--programme", "default", "--db", db], capsys)
    assert code == 2 and "is taken" in err


def test_serve_refuses_a_missing_registry(web_env: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["serve", "--db", str(tmp_path / "none.db"), "--port", "1"], capsys)
    assert code == 2 and "divert registry init" in err


def test_browser_login_by_keyboard_with_labelled_fields(page_for: Any) -> None:
    page = page_for(None)
    page.goto("/login")
    assert unlabelled_fields(page) == []
    assert page.get_attribute("a.skip", "href") == "#main"
    assert page.evaluate("document.activeElement.id") == "username"  # focus starts in the form
    page.keyboard.type("clinician")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORDS["clinician"])
    page.keyboard.press("Enter")
    page.wait_for_url("**/")
    assert "role clinician" in page.inner_text("main")
    page.goto("/admin/users")
    assert "Not for your role" in page.inner_text("h1")


def test_head_is_answered_like_get_without_a_body(client_for: Any) -> None:
    c = client_for(None)
    get, head = c.get("/login"), c.head("/login")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert c.head("/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert c.head("/admin/users").status_code == 303  # still signed-in only
