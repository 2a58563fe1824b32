"""Feature flags, percentage rollouts and experiments, evaluated through OpenFeature
(docs/flags.md, ADR 0012)."""
