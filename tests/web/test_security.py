"""Security of the web application: sessions end, sign-in is throttled, every account sees only
its programmes (the whole role x programme x operation matrix), HSTS and a CSP without inline
styles."""

from __future__ import annotations

from typing import Any

import pytest

from divert.registry import inputs, service
from divert.registry.store import Registry
from divert.web.accounts import PERMISSIONS, ROLES, Throttle, create_user, set_programmes

from .conftest import PASSWORDS, Client, sign_in
from .test_court import API, START, TODAY

PW = "scoped-password-2026!"


def _session(app: Any, username: str, password: str) -> tuple[Client, int]:
    c = Client(app, follow_redirects=False)
    c.refresh_csrf()
    r = c.post("/api/v1/session", json={"username": username, "password": password},
               headers={"X-CSRF-Token": c.csrf})
    if r.status_code == 200:
        c.csrf = r.json()["csrf_token"]
    return c, r.status_code


# ---- sessions -------------------------------------------------------------------------------------

def test_logout_ends_every_session_of_the_account(app: Any) -> None:
    one, two = sign_in(app, "judge"), sign_in(app, "judge")
    stolen = dict(one.cookies)  # a copy of the cookie, as an attacker would keep it
    assert one.get("/api/v1/me").status_code == 200 and two.get("/api/v1/me").status_code == 200
    assert one.api("DELETE", "/api/v1/session").status_code == 204
    assert one.get("/api/v1/me").status_code == 401
    assert two.get("/api/v1/me").status_code == 401  # the other device too
    replay = Client(app, follow_redirects=False, cookies=stolen)
    assert replay.get("/api/v1/me").status_code == 401  # the old cookie is dead


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(app: Any) -> None:
    judge, admin = sign_in(app, "judge"), sign_in(app, "admin")
    cookie = dict(judge.cookies)
    assert admin.form("/admin/users/judge/active", {"active": "false"}).status_code == 303
    assert judge.get("/api/v1/me").status_code == 401
    assert admin.form("/admin/users/judge/active", {"active": "true"}).status_code == 303
    assert Client(app, follow_redirects=False, cookies=cookie).get("/api/v1/me").status_code == 401
    assert sign_in(app, "judge").get("/api/v1/me").status_code == 200  # a new sign-in works


def test_password_change_ends_other_sessions_and_keeps_this_one(app: Any) -> None:
    me, other = sign_in(app, "clinician"), sign_in(app, "clinician")
    r = me.api("PUT", "/api/v1/me/password", json={"current_password": "wrong-password-123",
                                                    "new_password": "a-new-passphrase-99"})
    assert r.status_code == 400 and "current_password: wrong password" in r.json()["error"]
    r = me.api("PUT", "/api/v1/me/password", json={"current_password": PASSWORDS["clinician"],
                                                    "new_password": "short"})
    assert r.status_code == 400 and "too short" in r.json()["error"]
    r = me.api("PUT", "/api/v1/me/password", json={"current_password": PASSWORDS["clinician"],
                                                    "new_password": "a-new-passphrase-99"})
    assert r.status_code == 200, r.text
    me.csrf = r.json()["csrf_token"]
    assert me.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    assert _session(app, "clinician", PASSWORDS["clinician"])[1] == 401
    assert _session(app, "clinician", "a-new-passphrase-99")[1] == 200


def test_password_page_and_admin_reset(app: Any) -> None:
    judge, admin = sign_in(app, "judge"), sign_in(app, "admin")
    assert judge.get("/account/password").status_code == 200
    r = judge.form("/account/password", {"current_password": PASSWORDS["judge"],
                                          "new_password": "bench-new-pass-2027"})
    assert r.status_code == 200 and "Password changed" in r.text
    assert admin.form("/admin/users/judge/password",
                      {"password": "reset-by-admin-2027"}).status_code == 303
    assert judge.get("/api/v1/me").status_code == 401
    assert _session(app, "judge", "reset-by-admin-2027")[1] == 200
    assert sign_in(app, "prosecutor").form(
        "/admin/users/judge/password", {"password": "x" * 20}).status_code == 403


def test_sessions_expire_after_their_hours(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    from divert.web import security

    judge = sign_in(app, "judge")
    now = time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + security.SESSION_HOURS * 3600 + 1)
    assert judge.get("/api/v1/me").status_code == 401


# ---- throttling -----------------------------------------------------------------------------------

def test_sign_in_is_throttled_per_account(app: Any) -> None:
    for _ in range(5):
        assert _session(app, "judge", "wrong-password-xx")[1] == 401
    c, status = _session(app, "judge", PASSWORDS["judge"])  # even the right password, for now
    assert status == 429
    r = c.post("/api/v1/session", json={"username": "judge", "password": PASSWORDS["judge"]},
               headers={"X-CSRF-Token": c.csrf})
    assert "too many failed sign-ins for this account" in r.json()["error"]
    assert "try again in 15 minutes" in r.json()["error"]
    page = Client(app, follow_redirects=False)
    page.refresh_csrf()
    r = page.post("/login", data={"csrf_token": page.csrf, "username": "judge",
                                  "password": PASSWORDS["judge"]})
    assert r.status_code == 429 and "too many failed sign-ins" in r.text
    assert _session(app, "clinician", PASSWORDS["clinician"])[1] == 200  # others are not locked


def test_sign_in_is_throttled_per_address(app: Any) -> None:
    for i in range(20):  # a spray of names from one address
        assert _session(app, f"nobody{i}", "wrong-password-xx")[1] == 401
    assert _session(app, "judge", PASSWORDS["judge"])[1] == 429


def test_throttle_window_slides() -> None:
    now = [0.0]
    t = Throttle(per_account=2, per_address=100, window_s=60, clock=lambda: now[0])
    t.failed("ana", "1.2.3.4")
    t.failed("ana", "1.2.3.4")
    assert t.blocked("ana", "1.2.3.4") and t.blocked("ANA", "5.6.7.8")
    now[0] = 61
    assert t.blocked("ana", "1.2.3.4") is None


# ---- per-programme scoping ------------------------------------------------------------------------

def _two_programmes(url: str) -> dict[str, Any]:
    """Programmes north and south, one enrolled participant each (a test and a hearing today, an
    advice), and for each role an account on north only."""
    reg = Registry(url)
    cipher = service.registry_cipher(reg)
    out: dict[str, Any] = {}
    with reg.write("test-setup", "seed") as tx:
        for prog in ("north", "south"):
            service.add_programme(tx, inputs.ProgrammeIn(code=prog, name=prog.title()))
            row = service.add_participant(tx, cipher, inputs.ParticipantIn(
                name=f"Person of {prog}", programme=prog, referred_on=START))
            code = row["code"]
            service.record_consent(tx, code, inputs.ConsentIn(given=True, on=START))
            service.enrol(tx, code, inputs.EnrolIn(on=START))
            test = service.add_test(tx, code, inputs.DrugTestIn(on=TODAY))["id"]
            service.add_case(tx, code, inputs.CaseIn(facts={"person": {"age": 30}}))
            advice = service.snapshot_advice(tx, code, inputs.AdviceIn(jurisdiction="usa",
                                                                        on=TODAY))["id"]
            out[prog] = {"code": code, "test": test, "advice": advice}
        for role in ROLES:
            create_user(tx, f"n-{role.replace('_', '')}", PW, role, programmes=["north"])
    with reg.read() as conn:
        for h in service.hearings_on(conn, TODAY):
            prog = "north" if h["participant"] == out["north"]["code"] else "south"
            out[prog]["hearing"] = h["id"]
    reg.dispose()
    return out


def _reads(p: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """operation -> (capability, URL) reading one programme's records."""
    code = p["code"]
    return {
        "page": ("registry.read", f"/registry/participants/{code}"),
        "api": ("registry.read", f"{API}/participants/{code}"),
        "identify": ("registry.identify", f"{API}/participants/{code}?identify=true"),
        "timeline": ("registry.read", f"{API}/participants/{code}/timeline"),
        "notes": ("notes.clinical", f"{API}/participants/{code}/notes"),
        "suggestion": ("registry.read", f"{API}/participants/{code}/suggestion"),
    }


def _writes(p: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operation -> (capability, URL, JSON body) changing one programme's records."""
    code, day = p["code"], TODAY.isoformat()
    return {
        "note": ("notes.clinical", f"{API}/participants/{code}/notes", {"text": "seen"}),
        "response": ("responses.record", f"{API}/participants/{code}/responses",
                     {"kind": "incentive", "type": "verbal praise", "behaviour": "attendance"}),
        "result": ("tests.record", f"{API}/tests/{p['test']}/result", {"result": "negative",
                                                                "reason": "lab re-read"}),
        "hearing": ("hearings.record", f"{API}/hearings/{p['hearing']}",
                    {"status": "held", "held_on": day, "minutes": 3}),
        "consent": ("participants.manage", f"{API}/participants/{code}/consent",
                    {"given": True, "on": day}),
        "rearrest": ("participants.manage", f"{API}/participants/{code}/rearrests", {"on": day}),
        "phase": ("enrolment.decide", f"{API}/participants/{code}/phase",
                  {"to": 2, "override": "scoping test"}),
        "confirm": ("advice.confirm", f"{API}/advice/{p['advice']}/confirm",
                    {"decision": "none"}),
    }


def test_an_account_of_one_programme_sees_nothing_of_another(app: Any, registry_url: str) -> None:
    seeded = _two_programmes(registry_url)
    north, south = seeded["north"], seeded["south"]
    checked = 0
    for role in ROLES:
        c, status = _session(app, f"n-{role.replace('_', '')}", PW)
        assert status == 200
        caps = PERMISSIONS[role]
        for op, (cap, url) in _reads(south).items():
            r = c.get(url)
            want = 404 if cap in caps else 403
            assert r.status_code == want, (role, op, r.status_code)
            assert "Person of south" not in r.text, (role, op)
            # answered exactly as a code that does not exist
            ghost = c.get(url.replace(south["code"], "P-ZZZZZZZZ"))
            assert r.text.replace(south["code"], "P-ZZZZZZZZ") == ghost.text, (role, op)
            checked += 1
        for op, (cap, url) in _reads(north).items():
            if cap in caps and op != "suggestion":
                assert c.get(url).status_code == 200, (role, op)
        for op, (cap, url, body) in _writes(south).items():
            r = c.api("POST", url, json=body)
            assert r.status_code == (404 if cap in caps else 403), (role, op, r.status_code, r.text)
            checked += 1
        if role == "case_manager":  # the same writes on its own programme go through
            for op, (cap, url, body) in _writes(north).items():
                if cap in caps:
                    r = c.api("POST", url, json=body)
                    assert r.status_code in (200, 201), (op, r.text)
        if "registry.read" in caps:
            for url in (f"{API}/participants", f"{API}/tests", f"{API}/hearings",
                        f"{API}/dashboard", "/registry", "/registry/calendar",
                        "/registry/hearings", "/registry/dashboard"):
                text = c.get(url).text
                assert south["code"] not in text, (role, url)
                assert north["code"] in text or url.endswith(("dashboard", "calendar",
                                                              "tests")) or "hearings" in url
                checked += 1
            listed = c.get(f"{API}/participants").json()
            assert [p["code"] for p in listed["participants"]] == [north["code"]]
        if "registry.aggregates" in caps:
            for url in (f"{API}/aggregates", "/registry/aggregates"):
                assert "south" not in c.get(url).text, (role, url)
                checked += 1
        if "participants.manage" in caps:
            r = c.api("POST", f"{API}/participants", json={"name": "X", "programme": "south"})
            assert r.status_code == 403 and "may not add to programme 'south'" in r.json()["error"]
            r = c.api("POST", f"{API}/participants", json={"name": "Y", "programme": "north"})
            assert r.status_code == 201, r.text
        if "tests.record" in caps:
            c.api("POST", f"{API}/tests/close-missed")
        c.close()
    assert checked > 100
    # nothing of south was changed by anyone
    reg = Registry(registry_url)
    with reg.read() as conn:
        tl = service.timeline(conn, south["code"])
    reg.dispose()
    assert not any(e["event"] in ("note", "response", "rearrest") for e in tl["events"])


def test_an_account_with_no_programme_sees_no_participant(app: Any, registry_url: str) -> None:
    seeded = _two_programmes(registry_url)
    reg = Registry(registry_url)
    with reg.write("test-setup", "narrow") as tx:
        set_programmes(tx, "n-judge", [])
    reg.dispose()
    c, _ = _session(app, "n-judge", PW)
    assert c.get(f"{API}/participants").json()["total"] == 0
    assert c.get(f"{API}/participants/{seeded['north']['code']}").status_code == 404


def test_admin_assigns_programmes(app: Any, registry_url: str) -> None:
    seeded = _two_programmes(registry_url)
    admin = sign_in(app, "admin")
    assert admin.form("/admin/users/n-judge/programmes",
                      {"programmes": "north, south"}).status_code == 303
    c, _ = _session(app, "n-judge", PW)
    assert c.get(f"{API}/participants/{seeded['south']['code']}").status_code == 200
    assert "north, south" in admin.get("/admin/users").text
    r = admin.form("/admin/users/n-judge/programmes", {"programmes": "atlantis"})
    assert r.status_code == 400 and "programme: unknown" in r.text


# ---- headers --------------------------------------------------------------------------------------

def test_csp_has_no_inline_styles_and_no_template_uses_them() -> None:
    from pathlib import Path

    from divert.web.app import CSP
    from divert.web.render import STATIC

    assert "unsafe-inline" not in CSP and "style-src 'self'" in CSP
    templates = STATIC.parent / "templates"
    for path in templates.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        assert " style=" not in text and "<style" not in text, path
    assert Path(STATIC / "compare.css").read_text().count(".swatch-") == 8


def test_hsts_over_tls_only(registry_url: str, tmp_path: Any) -> None:
    from divert.web.app import create_app

    plain = create_app(registry_url, secret="s" * 32, work_dir=tmp_path / "w")
    assert "strict-transport-security" not in Client(plain).get("/login").headers
    tls = create_app(registry_url, secret="s" * 32, https_only=True, work_dir=tmp_path / "w")
    r = Client(tls, base_url="https://testserver").get("/login")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def test_old_sessions_without_an_epoch_are_refused(app: Any) -> None:
    """A cookie signed before this release (uid only) is not a session."""
    import base64
    import json

    from itsdangerous import TimestampSigner

    from .conftest import SECRET

    data = base64.b64encode(json.dumps({"uid": 1, "csrf": "x"}).encode())
    cookie = TimestampSigner(SECRET).sign(data).decode()
    c = Client(app, follow_redirects=False, cookies={"divert_session": cookie})
    assert c.get("/api/v1/me").status_code == 401


