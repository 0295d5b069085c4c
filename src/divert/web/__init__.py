"""The web application and REST API: one module per area, templates/ and static/ (vendored)."""
