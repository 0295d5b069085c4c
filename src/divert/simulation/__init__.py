"""The country simulation: population, kernel, decisions, scenarios, runs, outcomes, runner."""
