"""The registry of a diversion programme or treatment court: participants, tests, hearings, audit."""
