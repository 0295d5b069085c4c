"""Advice on one case: screening, triage, the case, pathways stage by stage, pack examples."""
