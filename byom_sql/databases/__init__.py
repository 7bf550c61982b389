"""Databases DuckDB attaches for the catalog: the kinds of database (kinds.py), keeping them
attached (attachments.py), and reading them from a statement (sources.py)."""
