"""The treatment court registry in the web application: pages (`router`) and the JSON API (`api`,
mounted under /api/v1). The pages live in `court_pages`, the API in `court_api`."""

from __future__ import annotations

from divert.web.court_api import api
from divert.web.court_pages import router

__all__ = ["api", "router"]
