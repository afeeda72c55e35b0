"""pupils rules (see DESIGN.md section 3)."""
