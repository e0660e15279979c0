"""Evaluation: benchmark runners, scoring rules and result parsers."""
