"""Tests of apxl.io.returns: templates, hostile files, ingesting, merging and reconciling school returns."""
