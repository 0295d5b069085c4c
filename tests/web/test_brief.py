"""Country briefs on the web: the page per pack, its API, and the page in a browser."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from divert.reports import brief
from divert.web.brief import store, stored_path

TINY = brief.Sizes(persons=300, replications=2, years=1, backtest_persons=300)


@pytest.fixture(scope="module")
def model_brief() -> dict[str, Any]:
    import json

    return dict(json.loads(json.dumps(brief.build("model", TINY), default=str)))


def test_brief_page_is_built_once_stored_and_sourced(app: Any, client_for: Any) -> None:
    app.state.brief_sizes = TINY
    c = client_for("clinician")
    r = c.get("/brief/model")
    assert r.status_code == 200
    path = stored_path(Path(app.state.work_dir), "model")
    assert path.exists()
    html = r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert " style=" not in html and "<style" not in html
    assert 'id="src-1"' in html and 'href="#src-1"' in html
    for section in ("law", "model", "flow", "problems", "levers", "sources"):
        assert f'<section id="{section}">' in html
    assert "Equivalence of care" in html and "Prevention and drug education" in html
    data = c.get("/api/v1/briefs/model").json()
    assert data["jurisdiction"] == "model" and brief.unsourced(data) == []
    assert path.stat().st_mtime == stored_path(Path(app.state.work_dir), "model").stat().st_mtime


def test_the_persian_brief_page_writes_its_figures_and_stamp_in_persian_digits(
        app: Any, client_for: Any, model_brief: dict[str, Any]) -> None:
    """The brief on the web, in fa: its figures and its stamp in Persian digits (the brief's
    own rounding), the pack's code and hash as they are, left to right."""
    from tests.i18n.english import Visible

    store(Path(app.state.work_dir), model_brief)
    c = client_for("clinician")
    c.headers["Accept-Language"] = "fa"
    html = c.get("/brief/model").text
    page = Visible()
    page.feed(html.split('<article class="brief" id="brief">', 1)[1].split("</article>", 1)[0])
    text = " ".join(page.text)
    assert "۳۰۰" in text and "۰.۱" in text
    flow = html.split('<section id="flow">', 1)[1].split("</section>", 1)[0]
    assert re.search("[۰-۹]", flow) and not re.search(r">[^<]*[0-9][^<]*<sup", flow)
    assert f'<code dir="ltr">{model_brief["pack_hash"][:16]}</code>' in html


def test_the_pages_number_filter_is_not_the_briefs(app: Any) -> None:
    """The brief's rounding (3 as 3.0) is its own filter: a count on another page stays 3."""
    from divert.i18n import using
    from divert.web.render import templates

    number = templates.env.filters["number"]
    assert number(3) == "3"
    with using("fa"):
        assert number(1234) == "۱٬۲۳۴"


def test_brief_index_unknown_pack_and_sign_in(client_for: Any) -> None:
    c = client_for("analyst")
    index = c.get("/brief")
    assert index.status_code == 200 and 'href="/brief/portugal"' in index.text
    assert c.get("/brief/atlantis").status_code in (400, 404, 422)
    anonymous = client_for(None).get("/brief/model", follow_redirects=False)
    assert anonymous.status_code in (303, 401)


def test_browser_reads_the_brief_and_follows_a_source(app: Any, page_for: Any,
                                                      model_brief: dict[str, Any]) -> None:
    store(Path(app.state.work_dir), model_brief)
    page = page_for("judge")
    page.goto("/brief/model")
    assert "treatment instead of conviction" in page.locator("h1").inner_text()
    levers = page.locator("table.levers tbody tr")
    assert levers.count() == len(model_brief["levers"])
    first = page.locator("#flow sup.ref a").first
    target = first.get_attribute("href")
    assert target and re.fullmatch(r"#src-\d+", target)
    first.click()
    page.wait_for_url(f"**/brief/model{target}")
    assert page.locator(target).inner_text().startswith("Simulation run")
