"""Studies built on the simulation: calibration, validation, backtests, sensitivity, countries."""
