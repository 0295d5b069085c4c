"""Persian pages in Chromium (issue 19): right to left, the same accessibility and 390 px checks as
every page (tests/web/test_every_page.py), and numbers in Persian digits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from divert.web.lang import COOKIE

from .conftest import LiveServer, axe_violations, horizontal_overflow
from .test_court import seed

PERSIAN = "۰۱۲۳۴۵۶۷۸۹"


def _in_persian(page: Any, live_server: LiveServer) -> Any:
    page.context.add_cookies([{"name": COOKIE, "value": "fa", "url": live_server.url}])
    return page


def test_browser_main_pages_in_persian(page_for: Callable[[str | None], Any],
                                       live_server: LiveServer, registry_url: str) -> None:
    codes = seed(registry_url)["codes"]
    judge = _in_persian(page_for("judge"), live_server)
    clinician = _in_persian(page_for("clinician"), live_server)
    anonymous = _in_persian(page_for(None), live_server)
    pages = [(anonymous, "/login"), (judge, "/"), (judge, "/registry"),
             (judge, f"/registry/participants/{codes[0]}"), (judge, "/registry/docket"),
             (judge, "/registry/schedule"), (judge, "/book/portugal"), (clinician, "/assess")]
    problems: list[str] = []
    for page, url in pages:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(url)
        html = page.locator("html")
        where = url
        if (html.get_attribute("lang"), html.get_attribute("dir")) != ("fa", "rtl"):
            problems.append(f"{where}: <html lang={html.get_attribute('lang')} "
                            f"dir={html.get_attribute('dir')}>")
        # the layout is mirrored: text starts at the right
        if page.evaluate("getComputedStyle(document.body).direction") != "rtl":
            problems.append(f"{where}: body not right to left")
        problems += [f"{where}: {v}" for v in axe_violations(page)]
        wide = horizontal_overflow(page, 390)
        if wide:
            problems.append(f"{where}: {wide} px of sideways scroll at 390 px")
    assert problems == [], "\n".join(problems)
    # a number shown on a page: the participants' count, in Persian digits and no Latin digit
    judge.goto("/registry")
    caption = judge.locator("main table caption").first.inner_text()
    count = str(len(codes)).translate(str.maketrans("0123456789", PERSIAN))
    assert caption.startswith(count + " ") and not any(c.isascii() and c.isdigit() for c in caption), \
        caption
