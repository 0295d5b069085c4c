"""The law: vocabulary, measure catalogue, rule language, policy packs and their practice."""
