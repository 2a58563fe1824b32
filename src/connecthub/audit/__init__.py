"""The audit trail as operators read it: `GET /api/v1/admin/audit_log` (a ConnectHub
extension in Mastodon's admin style). Rows are written by infra/audit_trail.py, through
ops/audit.py's `record`; `connecthub admin verify-audit` checks the chain."""
