"""The model side: serving a Python model over HTTP for other engines (`byom-sql serve-model`)."""

from byom_sql.serving.python_model import App, Server

__all__ = ["App", "Server"]
