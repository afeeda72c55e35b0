"""School returns: the return template, hostile-file checks, ingesting and merging, and the monthly reconciliation (apxl template/ingest/reconcile)."""
