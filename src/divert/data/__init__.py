"""Reference tables divert ships beside the policy packs (each value with source and provenance)."""
