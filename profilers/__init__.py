"""Counting: parameter accounting, the counter registry and its adapters,
the analytic formulas, reconciliation and budgets. Nothing here prints."""
