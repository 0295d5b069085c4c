"""The web application: one FastAPI app serving pages and the JSON API under /api/v1.

`create_app` wires the pieces: sessions, CSRF, security headers, static assets shipped with the
package, the routers of each area (assessment, policy book, comparisons, registry, accounts), and
error pages. Errors of input become one clear message (HTTP 400/422 with `{"error": ...}` in the
API); a missing registry becomes 503 naming the command that fixes it.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.middleware.sessions import SessionMiddleware

from divert import __version__
from divert.errors import DivertError, InputError
from divert.i18n import parse_locale
from divert.registry.audit import image
from divert.registry.database import RegistryError
from divert.registry.models import AUDITED
from divert.registry.store import ConflictError, Registry
from divert.web import accounts, lang
from divert.web.render import STATIC, render
from divert.web.security import (
    SESSION_COOKIE,
    SESSION_HOURS,
    NotSignedIn,
    Refused,
    check_csrf,
    csrf_token,
    current_user,
    optional_user,
    registry_of,
    require,
    session_secret,
    sign_in,
    sign_out,
)

#: the areas of the application; each module has `router` (pages) and `api` (JSON under /api/v1)
AREAS: tuple[str, ...] = ("assess", "book", "brief", "compare", "court")

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'; "
       "object-src 'none'")

API_PREFIX = "/api/v1"
#: sent when served over TLS (or with secure cookies, behind a TLS-terminating proxy): one year
HSTS = "max-age=31536000; includeSubDomains"
#: a comparison's self-contained report viewed in the browser: sandboxed, its own styles only
REPORT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"


class HeadAsGet:
    """Answer HEAD as GET without the body (FastAPI's routes answer GET only, so HEAD gave 405)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def without_body(message: Any) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, without_body)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def create_app(database_url: str | None = None, *, secret: str | None = None,
               https_only: bool = False, work_dir: Path | None = None) -> FastAPI:
    """The application on the registry at `database_url` (else `DIVERT_DATABASE_URL` or the default
    SQLite file). `work_dir` holds comparison jobs' outputs (default `./divert-web`)."""
    app = FastAPI(title="divert", version=__version__, openapi_url=f"{API_PREFIX}/openapi.json",
                  docs_url=f"{API_PREFIX}/docs", redoc_url=None,
                  dependencies=[Depends(check_csrf)],
                  description="Advice by the law of a place, country comparisons and the treatment "
                              "court registry. Sign in with POST /api/v1/session; send the returned "
                              "csrf token as X-CSRF-Token on every POST, PUT, PATCH and DELETE.")
    app.state.registry = Registry(database_url)
    app.state.throttle = accounts.Throttle()
    app.state.work_dir = (work_dir or Path("divert-web")).resolve()
    app.add_middleware(lang.Language)  # inside the session: the account's setting is in reach
    app.add_middleware(SessionMiddleware, secret_key=secret or session_secret(),
                       session_cookie=SESSION_COOKIE, max_age=SESSION_HOURS * 3600,
                       same_site="strict", https_only=https_only)

    @app.middleware("http")
    async def security_headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        if https_only or request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.add_middleware(HeadAsGet)
    _errors(app)
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(_core_pages(https_only))
    app.include_router(_core_api(), prefix=API_PREFIX)
    for area in AREAS:
        module = importlib.import_module(f"divert.web.{area}")
        app.include_router(module.router)
        app.include_router(module.api, prefix=API_PREFIX)
    return app


def _errors(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return JSONResponse({"error": "not signed in: POST /api/v1/session first"}, 401)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, 403)
        what = lang._(accounts.CAPABILITIES.get(exc.capability, exc.capability))
        message = lang._("the role %(role)s may not %(what)s") % {"role": repr(exc.user.role), "what": what}
        return render(request, "refused.html", status_code=403, message=message)

    @app.exception_handler(RegistryError)
    async def registry_missing(request: Request, exc: RegistryError) -> Response:
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, 503)
        return render(request, "error.html", status_code=503, message=str(exc))

    @app.exception_handler(ConflictError)
    async def conflict(request: Request, exc: ConflictError) -> Response:
        """A stale `version`: nothing was stored; the API answer holds the current row."""
        if not _is_api(request):
            return render(request, "error.html", status_code=409, message=str(exc))
        current = image(AUDITED[exc.table], exc.current) if exc.current else None
        return JSONResponse({"error": str(exc), "table": exc.table, "id": exc.row_id,
                             "read_version": exc.read_version,
                             "current_version": exc.current.get("version"), "current": current}, 409)

    @app.exception_handler(DivertError)
    async def bad_input(request: Request, exc: DivertError) -> Response:
        status = getattr(exc, "http_status", 400)  # an error may name its own status (409)
        if _is_api(request):
            return JSONResponse({"error": str(exc)}, status)
        return render(request, "error.html", status_code=status, message=str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
        message = "; ".join(problems) or "invalid request"
        if _is_api(request):
            return JSONResponse({"error": message}, 422)
        return render(request, "error.html", status_code=422, message=message)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if _is_api(request) or exc.status_code == 405:
            return JSONResponse({"error": str(exc.detail)}, exc.status_code, headers=exc.headers)
        return render(request, "error.html", status_code=exc.status_code, message=str(exc.detail))


def _safe_next(target: str | None) -> str:
    """Only same-site paths, never `//host` or a scheme (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _authenticate(request: Request, username: str, password: str
                  ) -> tuple[accounts.User | None, str | None]:
    """The account, or (None, why sign-in is refused for now) when the throttle holds."""
    throttle: accounts.Throttle = request.app.state.throttle
    address = request.client.host if request.client else "unknown"
    refused = throttle.blocked(username, address)
    if refused:
        return None, refused
    with registry_of(request).read() as conn:
        user = accounts.authenticate(conn, username, password)
    if user is None:
        throttle.failed(username, address)
        return None, None
    throttle.succeeded(username)
    return user, None


def _programme_codes(text: str) -> list[str] | None:
    """Programme codes from a form field (comma-separated); `all` (or `*`): every programme."""
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if codes in (["all"], ["*"]):
        return None
    if not codes:
        raise InputError("programmes: give programme codes (comma-separated) or 'all'")
    return codes


def _core_pages(https_only: bool = False) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/", response_class=HTMLResponse)
    def home(request: Request) -> Response:
        user = optional_user(request)
        if user is None:
            return RedirectResponse("/login", status_code=303)
        return render(request, "home.html", capabilities=sorted(user.capabilities),
                      described=accounts.CAPABILITIES)

    @router.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, next: str | None = None) -> Response:
        return render(request, "login.html", next=_safe_next(next), error=None)

    @router.post("/login", response_class=HTMLResponse)
    def login(request: Request, username: str = Form(""), password: str = Form(""),
              next: str = Form("/")) -> Response:
        user, refused = _authenticate(request, username.strip(), password)
        if user is None:
            return render(request, "login.html", status_code=429 if refused else 401,
                          next=_safe_next(next),
                          error=refused or lang._("Unknown username or wrong password."))
        sign_in(request, user)
        return RedirectResponse(_safe_next(next), status_code=303)

    @router.post("/language")
    def language(request: Request, locale: str = Form(""), next: str = Form("/")) -> Response:
        """The language switcher: kept on the account when signed in, and in a cookie for the
        signed-out pages (the sign-in form)."""
        chosen = parse_locale(locale)
        user = optional_user(request)
        if user is not None:
            with registry_of(request).write(user.username, "web set-language") as tx:
                accounts.set_locale(tx, user.id, chosen)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(lang.COOKIE, chosen, max_age=lang.COOKIE_DAYS * 86400, httponly=True,
                            samesite="strict", secure=https_only)
        return response

    @router.post("/logout")
    def logout(request: Request) -> Response:
        sign_out(request)
        return RedirectResponse("/login", status_code=303)

    @router.get("/admin/users", response_class=HTMLResponse)
    def users_page(request: Request, user: accounts.User = Depends(require("users.manage"))) -> Response:
        with registry_of(request).read() as conn:
            rows = accounts.list_users(conn)
        return render(request, "users.html", users=rows, permissions=accounts.PERMISSIONS,
                      described=accounts.CAPABILITIES, error=None)

    @router.post("/admin/users", response_class=HTMLResponse)
    def users_add(request: Request, username: str = Form(...), password: str = Form(...),
                  role: str = Form(...), display_name: str = Form(""),
                  programmes: str = Form(""),
                  user: accounts.User = Depends(require("users.manage"))) -> Response:
        try:
            scope = _programme_codes(programmes)
            with registry_of(request).write(user.username, "web create-user") as tx:
                accounts.create_user(tx, username.strip(), password, role, display_name or None,
                                     programmes=scope)
        except InputError as exc:
            with registry_of(request).read() as conn:
                rows = accounts.list_users(conn)
            return render(request, "users.html", status_code=400, users=rows,
                          permissions=accounts.PERMISSIONS, described=accounts.CAPABILITIES,
                          error=str(exc))
        return RedirectResponse("/admin/users", status_code=303)

    @router.post("/admin/users/{username}/active", response_class=HTMLResponse)
    def users_active(request: Request, username: str, active: bool = Form(...),
                     user: accounts.User = Depends(require("users.manage"))) -> Response:
        if username == user.username and not active:
            raise InputError("you cannot deactivate your own account")
        with registry_of(request).write(user.username, "web set-active") as tx:
            accounts.set_active(tx, username, active)
        return RedirectResponse("/admin/users", status_code=303)

    @router.post("/admin/users/{username}/password", response_class=HTMLResponse)
    def users_reset(request: Request, username: str, password: str = Form(...),
                    user: accounts.User = Depends(require("users.manage"))) -> Response:
        with registry_of(request).write(user.username, "web reset-password") as tx:
            accounts.reset_password(tx, username, password)
        return RedirectResponse("/admin/users", status_code=303)

    @router.post("/admin/users/{username}/programmes", response_class=HTMLResponse)
    def users_programmes(request: Request, username: str, programmes: str = Form(""),
                         user: accounts.User = Depends(require("users.manage"))) -> Response:
        scope = _programme_codes(programmes)
        with registry_of(request).write(user.username, "web set-programmes") as tx:
            accounts.set_programmes(tx, username, scope)
        return RedirectResponse("/admin/users", status_code=303)

    @router.get("/account/password", response_class=HTMLResponse)
    def password_form(request: Request, user: accounts.User = Depends(current_user)) -> Response:
        return render(request, "password.html", error=None, done=False)

    @router.post("/account/password", response_class=HTMLResponse)
    def password_change(request: Request, current_password: str = Form(""),
                        new_password: str = Form(""),
                        user: accounts.User = Depends(current_user)) -> Response:
        try:
            with registry_of(request).write(user.username, "web change-password") as tx:
                epoch = accounts.change_password(tx, user, current_password, new_password)
        except InputError as exc:
            return render(request, "password.html", status_code=400, error=str(exc), done=False)
        sign_in(request, user, epoch)
        return render(request, "password.html", error=None, done=True)

    return router


class PasswordChange(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


class Credentials(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: str
    capabilities: list[str]
    csrf_token: str


class CsrfOut(BaseModel):
    csrf_token: str
    signed_in: bool


def _core_api() -> APIRouter:
    api = APIRouter(tags=["session"])

    @api.get("/session", response_model=CsrfOut)
    def session_state(request: Request) -> CsrfOut:
        """The CSRF token to send with the sign-in request (and whether a session is open)."""
        return CsrfOut(csrf_token=csrf_token(request), signed_in=optional_user(request) is not None)

    @api.post("/session", response_model=SessionOut,
              responses={401: {"description": "wrong username or password"}})
    def open_session(request: Request, body: Credentials) -> Any:
        """Sign in; the response carries the CSRF token for later unsafe requests."""
        user, refused = _authenticate(request, body.username.strip(), body.password)
        if refused:
            return JSONResponse({"error": refused}, 429, headers={"Retry-After": "60"})
        if user is None:
            return JSONResponse({"error": "unknown username or wrong password"}, 401)
        sign_in(request, user)
        return SessionOut(username=user.username, role=user.role,
                          capabilities=sorted(user.capabilities), csrf_token=csrf_token(request))

    @api.delete("/session", status_code=204)
    def close_session(request: Request) -> Response:
        """Sign out."""
        sign_out(request)
        return Response(status_code=204)

    @api.put("/me/password", response_model=SessionOut,
             responses={400: {"description": "wrong current password or a weak new one"},
                        401: {"description": "not signed in"}})
    def change_password(request: Request, body: PasswordChange,
                        user: accounts.User = Depends(current_user)) -> SessionOut:
        """Change your password: every other session of the account ends; this one goes on with a
        new CSRF token."""
        with registry_of(request).write(user.username, "web change-password") as tx:
            epoch = accounts.change_password(tx, user, body.current_password, body.new_password)
        sign_in(request, user, epoch)
        return SessionOut(username=user.username, role=user.role,
                          capabilities=sorted(user.capabilities), csrf_token=csrf_token(request))

    @api.get("/me", response_model=SessionOut, responses={401: {"description": "not signed in"}})
    def me(request: Request, user: accounts.User = Depends(current_user)) -> SessionOut:
        """The signed-in account and what its role may do."""
        return SessionOut(username=user.username, role=user.role,
                          capabilities=sorted(user.capabilities), csrf_token=csrf_token(request))

    return api
