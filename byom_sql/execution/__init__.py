"""Running statements: DuckDB SQL as written (direct.py), and plans that call models
(local.py runs a Plan in this process; scoring.py sends one step's rows to its model)."""
