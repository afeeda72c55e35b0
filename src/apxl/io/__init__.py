"""Workbooks and files: reading registers, writing findings and summaries, templates, safe saving."""
