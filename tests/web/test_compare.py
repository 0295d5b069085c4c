"""Country comparison on the web: the API and pages run `divert compare` as a job and show it."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from divert.simulation.run import SERIES
from divert.web.jobs import INTERRUPTED, Job

from .conftest import SECRET, Client, axe_violations, horizontal_overflow, sign_in, unlabelled_fields

SPEC = {"scenarios": ["usa", "usa+treatment_not_conviction"], "persons": 1000, "years": 1,
        "replications": 2, "seed": 7, "start": "2025-01"}


def wait_done(client: Client, job_id: str, timeout: float = 90) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/v1/comparisons/{job_id}").json()
        if body["status"] not in ("queued", "running"):
            return body  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"comparison {job_id} not finished after {timeout} s")


def _close_jobs(app: Any) -> None:
    jobs = getattr(app.state, "jobs", None)
    if jobs is not None:
        jobs.close()


@pytest.fixture
def app(app: Any) -> Iterator[Any]:
    """conftest's app; its running jobs end with the test."""
    yield app
    _close_jobs(app)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, _web_template: Path,
             web_key: Path) -> Iterator[dict[str, Any]]:
    """One comparison run through the API to the end, on its own app and work folder."""
    from divert.web.app import create_app

    base = tmp_path_factory.mktemp("compare")
    shutil.copyfile(_web_template, base / "registry.db")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DIVERT_KEY_FILE", str(web_key))
        url = f"sqlite:///{base / 'registry.db'}"
        app = create_app(url, secret=SECRET, work_dir=base / "work")
        client = sign_in(app, "analyst")
        created = client.api("POST", "/api/v1/comparisons", json=SPEC)
        body = wait_done(client, created.json()["id"])
        yield {"app": app, "client": client, "created": created, "job": body, "url": url,
               "work": base / "work"}
        client.close()
        _close_jobs(app)


def test_a_comparison_runs_to_done_with_the_numbers_of_run_comparison(finished: dict[str, Any]) -> None:
    from divert.simulation.runner import run_comparison
    from divert.web.jobs import _finite

    created = finished["created"]
    assert created.status_code == 202
    assert created.headers["location"] == f"/api/v1/comparisons/{created.json()['id']}"
    assert created.json()["status"] == "queued" and created.json()["progress"]["total"] == 4
    job = finished["job"]
    assert job["status"] == "done", job["error"]
    assert job["progress"] == {"done": 4, "total": 4} and job["owner"] == "analyst"
    direct = run_comparison(SPEC["scenarios"], persons=1000, months=12, start=date(2025, 1, 1),
                            replications=2, seed=7)
    assert job["summary"] == _finite(json.loads(json.dumps(direct.summary())))
    assert job["summary"]["stamp"]["seed"] == 7
    listed = finished["client"].get("/api/v1/comparisons").json()
    assert [j["id"] for j in listed] == [job["id"]] and listed[0]["summary"] is None


def test_series_give_each_scenarios_mean_and_band(finished: dict[str, Any]) -> None:
    c, job_id = finished["client"], finished["job"]["id"]
    body = c.get(f"/api/v1/comparisons/{job_id}/series?metric=in_prison&metric=arrests").json()
    assert len(body["months"]) == 12 and body["months"][0] == "2025-01"
    assert [s["scenario"] for s in body["scenarios"]] == SPEC["scenarios"]
    for s in body["scenarios"]:
        assert set(s["series"]) == {"in_prison", "arrests"}
        band = s["series"]["in_prison"]
        assert all(lo <= m <= hi for lo, m, hi in zip(band["low"], band["mean"], band["high"],
                                                      strict=True))
    parquet = c.get(f"/api/v1/comparisons/{job_id}/files/series.parquet").content
    values: dict[str, list[float]] = {}
    for row in pq.read_table(io.BytesIO(parquet)).to_pylist():
        if row["metric"] == "in_prison" and row["scenario"] == "usa":
            values.setdefault(row["month"], []).append(row["value"])
    means = [sum(v) / len(v) for _, v in sorted(values.items())]
    assert means == pytest.approx(body["scenarios"][0]["series"]["in_prison"]["mean"], rel=1e-5)
    bad = c.get(f"/api/v1/comparisons/{job_id}/series?metric=nonsense")
    assert bad.status_code == 400 and bad.json()["error"].startswith("metric: unknown 'nonsense'")


def test_downloads_have_their_types_and_parse(finished: dict[str, Any]) -> None:
    c, job_id = finished["client"], finished["job"]["id"]
    expected = {"series.csv": "text/csv", "series.parquet": "application/vnd.apache.parquet",
                "report.html": "text/html", "summary.json": "application/json"}
    got = {}
    for name, media in expected.items():
        r = c.get(f"/api/v1/comparisons/{job_id}/files/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)
        disposition = r.headers["content-disposition"]
        assert disposition.startswith("attachment;") and f"-{job_id[:8]}-{name}" in disposition
        assert disposition.split("filename=")[1].strip('"').startswith("divert-usa-")
        got[name] = r.content
    table = pq.read_table(io.BytesIO(got["series.parquet"]))
    assert table.num_rows == 2 * 2 * 12 * len(SERIES)
    assert b"divert_stamp" in table.schema.metadata
    header, *lines = got["series.csv"].decode().splitlines()
    assert header.replace('"', "") == "scenario,replication,month,metric,value"
    assert len(lines) == table.num_rows
    assert b"<html" in got["report.html"] and b"http://" not in got["report.html"].split(b"<body")[0]
    assert json.loads(got["summary.json"])["stamp"]["seed"] == 7
    page = c.get(f"/compare/jobs/{job_id}/files/report.html?view=true")
    assert page.headers["content-disposition"].startswith("inline;")
    r = c.get(f"/api/v1/comparisons/{job_id}/files/job.json")
    assert r.status_code == 422 and "series.csv" in r.json()["error"]


def test_the_job_page_shows_charts_summary_and_stamp(finished: dict[str, Any]) -> None:
    c, job = finished["client"], finished["job"]
    page = c.get(f"/compare/jobs/{job['id']}")
    assert page.status_code == 200
    text = page.text
    assert 'id="chart-in_prison_drug_offence"' in text and 'id="chart-data"' in text
    assert "Overdose deaths" in text and "Net benefit" in text and "P(benefits &gt; costs)" in text
    assert job["summary"]["stamp"]["scenarios"]["usa"]["pack_hash"] in text
    assert "divert compare usa usa+treatment_not_conviction --persons 1000" in text
    assert "hx-trigger=\"every 1s\"" not in text  # no polling once done
    data = json.loads(text.split('id="chart-data">')[1].split("</script>")[0])
    assert {c["metric"] for c in data} >= {"in_prison_drug_offence", "in_treatment", "overdose_deaths",
                                            "arrests", "cost_total"}
    assert "/static/compare.js" in text and "https://" not in text


def test_a_job_writes_its_report_in_the_language_of_whoever_submitted_it(app: Any,
                                                                          client_for: Any) -> None:
    """Asked for in Persian (the page language, here from Accept-Language), the job records fa
    and its report.html is Persian, right to left, with no English message left."""
    from tests.i18n.english import english_left, leftovers

    c = client_for("analyst")
    c.headers["Accept-Language"] = "fa-IR,fa;q=0.9,en;q=0.5"
    created = c.api("POST", "/api/v1/comparisons", json=SPEC).json()
    assert created["spec"]["lang"] == "fa"
    body = wait_done(c, created["id"])
    assert body["status"] == "done", body["error"]
    report = c.get(f"/api/v1/comparisons/{created['id']}/files/report.html").text
    html, found = leftovers(report, *english_left("fa", ("reports", "web", "law")))
    assert (html.get("lang"), html.get("dir")) == ("fa", "rtl")
    assert found == []
    assert "۲۰۲۵" in report  # Persian digits: the report was rendered in fa, not only marked so


def test_a_restarted_server_still_lists_finished_jobs(finished: dict[str, Any]) -> None:
    from divert.web.app import create_app

    again = create_app(finished["url"], secret=SECRET, work_dir=finished["work"])
    c = sign_in(again, "admin")
    try:
        listed = c.get("/api/v1/comparisons").json()
        assert [(j["id"], j["status"]) for j in listed] == [(finished["job"]["id"], "done")]
        assert c.get(f"/api/v1/comparisons/{finished['job']['id']}").json()["summary"] == \
            finished["job"]["summary"]
    finally:
        c.close()
        _close_jobs(again)


@pytest.mark.parametrize(("change", "status", "message"), [
    ({"persons": 999}, 422, "persons: Input should be greater than or equal to 1000"),
    ({"years": 31}, 422, "years:"),
    ({"replications": 101}, 422, "replications:"),
    ({"start": "2025-13"}, 400, "start: '2025-13' is not an allowed month"),
    ({"scenarios": ["atlantis"]}, 400, "scenarios: unknown pack 'atlantis'; allowed:"),
    ({"scenarios": ["usa", "usa+/etc/passwd"]}, 400, "scenarios: unknown overlay '/etc/passwd'"),
    ({"scenarios": []}, 422, "scenarios:"),
    ({"colour": "red"}, 422, "colour: Extra inputs are not permitted"),
])
def test_bad_requests_get_one_clear_error(client_for: Any, change: dict[str, Any], status: int,
                                          message: str) -> None:
    c = client_for("analyst")
    r = c.api("POST", "/api/v1/comparisons", json=SPEC | change)
    assert r.status_code == status and message in r.json()["error"], r.text
    assert c.get("/api/v1/comparisons").json() == []  # nothing queued


@pytest.mark.parametrize("role", ["judge", "clinician"])
def test_roles_without_simulate_are_refused(client_for: Any, role: str) -> None:
    c = client_for(role)
    assert c.get("/compare").status_code == 403
    assert c.form("/compare", {"pack": "usa", **{k: str(v) for k, v in SPEC.items()
                                                 if k != "scenarios"}}).status_code == 403
    assert c.get("/api/v1/comparisons").status_code == 403
    r = c.api("POST", "/api/v1/comparisons", json=SPEC)
    assert r.status_code == 403 and "may not run and read country comparisons" in r.json()["error"]
    assert client_for(None).get("/api/v1/comparisons").status_code == 401


def test_unknown_comparisons_are_404(client_for: Any) -> None:
    c = client_for("analyst")
    r = c.get("/api/v1/comparisons/nope")
    assert r.status_code == 422 and r.json()["error"].startswith("job_id: String should match")
    for path in ("/api/v1/comparisons/0123456789abcdef", "/api/v1/comparisons/0123456789abcdef/series",
                 "/api/v1/comparisons/0123456789abcdef/files/series.csv"):
        r = c.get(path)
        assert r.status_code == 404 and "no comparison" in r.json()["error"]
    assert c.api("DELETE", "/api/v1/comparisons/0123456789abcdef").status_code == 404
    assert c.get("/compare/jobs/0123456789abcdef").status_code == 404


def test_the_form_keeps_its_values_and_names_the_wrong_field(client_for: Any) -> None:
    c = client_for("analyst")
    page = c.get("/compare")
    assert page.status_code == 200 and 'value="treatment_not_conviction"' in page.text
    r = c.form("/compare", {"pack": "usa", "overlays": ["prison_treatment"], "persons": "50",
                            "years": "2", "replications": "3", "seed": "4", "start": "2025-01"})
    assert r.status_code == 400
    assert "persons: 50 is out of range; allowed: 1,000 to 500,000" in r.text
    persons = r.text.split('id="persons"')[1].split(">")[0]
    assert 'value="50"' in persons and 'aria-invalid="true"' in persons
    assert "checked" in r.text.split('id="overlay-prison_treatment"')[1].split(">")[0]
    assert "checked" not in r.text.split('id="overlay-treatment_not_conviction"')[1].split(">")[0]
    r = c.form("/compare", {"pack": "usa", "overlays": ["prison_treatment"], "together": "true",
                            "persons": "1000", "years": "1", "replications": "1", "seed": "1",
                            "start": "2025-01"})
    assert r.status_code == 400 and "together: choose at least two reforms" in r.text
    fragment = c.get("/compare/overlays?pack=portugal")
    assert fragment.status_code == 200 and "overlay-treatment_not_conviction" in fragment.text


def test_only_the_owner_or_an_admin_cancels(app: Any, client_for: Any) -> None:
    app.state.jobs_paused = True
    analyst, admin = client_for("analyst"), client_for("admin")
    mine = analyst.api("POST", "/api/v1/comparisons", json=SPEC).json()["id"]
    theirs = admin.api("POST", "/api/v1/comparisons", json=SPEC).json()["id"]
    r = analyst.api("DELETE", f"/api/v1/comparisons/{theirs}")
    assert r.status_code == 403 and "only its owner (admin) or an admin may cancel" in r.json()["error"]
    assert admin.api("DELETE", f"/api/v1/comparisons/{mine}").json()["status"] == "cancelled"
    r = analyst.form(f"/compare/jobs/{mine}/cancel")
    assert r.status_code == 409 and "only a queued or running comparison" in r.text
    assert [j["id"] for j in analyst.get("/api/v1/comparisons?mine=true").json()] == [mine]


def test_a_job_interrupted_by_a_stopped_server_shows_as_failed(app: Any, client_for: Any) -> None:
    folder = app.state.work_dir / "jobs" / "00000000000000cc"
    folder.mkdir(parents=True)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    Job("00000000000000cc", "analyst", SPEC, status="running", done=1, total=4,
        pid=dead.pid).write(folder)
    c = client_for("analyst")
    body = c.get("/api/v1/comparisons/00000000000000cc").json()
    assert body["status"] == "failed" and body["error"] == INTERRUPTED
    page = c.get("/compare/jobs/00000000000000cc").text
    assert "Failed" in page and "interrupted" in page


def test_browser_an_analyst_runs_a_comparison_and_sees_its_chart(page_for: Any) -> None:
    page = page_for("analyst")
    page.goto("/compare")
    assert unlabelled_fields(page) == []
    assert page.get_by_label("Calibrated practice for usa").count() == 1
    with page.expect_response("**/compare/overlays?pack=portugal"):  # htmx swaps the reforms in
        page.get_by_label("Jurisdiction (policy pack)").select_option("portugal")
    assert page.get_by_label("Calibrated practice for usa").count() == 0
    page.get_by_label("Treatment instead of conviction, extended to dependent users").check()
    page.get_by_label("People simulated per run").fill("1000")
    page.get_by_label("Years to simulate").fill("1")
    page.get_by_label("Replications (parameter draws)").fill("2")
    page.get_by_label("Random seed").fill("11")
    page.get_by_label("First month").fill("2025-01")
    page.get_by_role("button", name="Run the comparison").focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**/compare/jobs/*")
    status = page.locator("#job-status")
    assert "of 4 runs" in status.inner_text() or "Done" in status.inner_text()
    assert unlabelled_fields(page) == []
    page.wait_for_selector("canvas#chart-overdose_deaths", timeout=90_000)
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById("
                           "'chart-overdose_deaths'))")
    datasets = page.evaluate("""() => Chart.getChart(document.getElementById('chart-overdose_deaths'))
        .data.datasets.map(d => [d.label, d.data.length])""")
    assert len(datasets) == 6 and all(n == 12 for _, n in datasets)
    assert datasets[2][0] == "today's law" and datasets[5][0] == "treatment not conviction"
    legend = page.locator("figure", has=page.locator("canvas#chart-overdose_deaths")).locator(
        "ul.legend")
    assert legend.is_visible()
    assert legend.locator("li").all_inner_texts()[:2] == ["today's law (mean)",
                                                          "treatment not conviction (mean)"]
    # the run (2025) lies wholly before the reform takes effect (2026-01-01): all of it shaded
    assert "before the reform takes effect (12 months, to 2025-12)" in legend.inner_text()
    summary = page.get_by_role("table").filter(has_text="Totals over 12 months")
    assert "Overdose deaths" in summary.inner_text()
    assert "Done" in status.inner_text()
    assert page.get_by_role("link", name="Monthly series (CSV)").is_visible()
    economics = page.get_by_role("table").filter(has_text="Benefits and costs").inner_text()
    # local currency and international $; the run ends before the reform takes effect
    assert "Net benefit, EUR" in economics and "Net benefit, international $" in economics
    assert "no difference" in economics
    assert axe_violations(page) == []
    assert horizontal_overflow(page, 390) == 0
