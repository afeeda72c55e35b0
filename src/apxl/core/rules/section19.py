"""section19 rules (see DESIGN.md section 3)."""
