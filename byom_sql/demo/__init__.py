"""`byom-sql demo`: the seed's walkthrough on an embedded DuckDB, with generated home rentals
and a small model server of its own, so a new user sees the product work in one command."""
