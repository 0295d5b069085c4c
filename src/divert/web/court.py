"""The treatment court registry in the web application: pages (`router`) and the JSON API (`api`,
mounted under /api/v1). The pages live in `court_pages`, the API in `court_api`, and intake
(new participants, consent, enrolment, phases, exits, saved assessments) in `court_intake`, and
scheduling, reminders and the judge's docket in `court_schedule`."""

from __future__ import annotations

from fastapi import APIRouter

from divert.web import court_api, court_intake, court_pages, court_schedule

router, api = APIRouter(), APIRouter()
# intake first: /participants/new before /participants/{code}
for _area in (court_intake, court_pages, court_schedule):
    router.include_router(_area.router)
for _area in (court_api, court_intake):
    api.include_router(_area.api)

__all__ = ["api", "router"]
