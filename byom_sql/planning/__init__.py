"""Planning: a statement that reads predictors becomes a `Plan` before anything runs.

No I/O here. What the planner must know of the database (a relation's columns, which names
are predictors, which tables are remote) it asks a `Schema`.
"""
