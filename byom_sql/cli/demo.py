"""`byom-sql demo`: the seed's walkthrough, end to end, on an embedded DuckDB.

Generates home_rentals, starts the built-in model server (the Ray Serve contract) on a free
127.0.0.1 port, runs each statement printing it and its result, then stops the server.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

import byom_sql
from byom_sql.cli.backends import outcome_of
from byom_sql.cli.main import print_result, subcommand
from byom_sql.demo import home_rentals
from byom_sql.demo.server import ModelServer

INTRO = """\
byom-sql demo: MindsDB's "bring your own model" walkthrough on an embedded DuckDB.
A model server speaking the Ray Serve contract (/train, /predict; a logistic regression in
numpy) is running at {url} for the length of the demo.

"""

OUTRO = """\
The model server is stopped. Next: the same walkthrough against a real Ray Serve app, an MLflow
model, PostgreSQL, psql and docker compose: see docs/examples.md.
"""

DTYPE_DICT = (
    '{"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"}'
)


def walkthrough(url: str) -> list[tuple[str, str]]:
    """(comment, statement) pairs: the seed's statements on the local table, then a few more."""
    return [
        (
            f"{home_rentals.ROWS} generated home rentals (examples/data/home_rentals.csv)",
            "SELECT * FROM home_rentals LIMIT 5",
        ),
        (
            "train: the rows go to url.train, predictions will come from url.predict",
            "CREATE PREDICTOR byom\n"
            "FROM (SELECT number_of_rooms, initial_price, rental_price FROM home_rentals)\n"
            "PREDICT number_of_rooms\n"
            "USING\n"
            f"url.train = '{url}/train',\n"
            f"url.predict = '{url}/predict',\n"
            f"dtype_dict = {DTYPE_DICT},\n"
            "format = 'ray_server'",
        ),
        ("the predictor and what it knows", "SHOW PREDICTORS"),
        ("", "DESCRIBE byom"),
        (
            "one prediction from constants",
            "SELECT * FROM byom WHERE initial_price = 3000 AND rental_price = 3000",
        ),
        (
            "score the rows of a table (the filter runs before the model is called)",
            "SELECT tb.number_of_rooms, t.rental_price\n"
            "FROM home_rentals AS t JOIN mindsdb.byom AS tb\n"
            "WHERE t.rental_price > 5300",
        ),
        (
            "one input row per combination of IN lists; filter on a prediction",
            "SELECT rental_price, number_of_rooms, number_of_rooms_confidence\n"
            "FROM byom\n"
            "WHERE initial_price = 3000 AND rental_price IN (2000, 2500, 3000, 3500, 4000)\n"
            "  AND number_of_rooms_confidence > 0.5",
        ),
        (
            "DuckDB does the rest: how good is the model, per actual number of rooms?",
            "SELECT t.number_of_rooms AS actual, count(*) AS homes,\n"
            "       round(avg((tb.number_of_rooms = t.number_of_rooms)::INT), 2) AS accuracy,\n"
            "       round(avg(tb.number_of_rooms_confidence), 2) AS confidence\n"
            "FROM home_rentals AS t JOIN byom AS tb\n"
            "GROUP BY actual ORDER BY actual",
        ),
    ]


def run(out: TextIO) -> int:
    with ModelServer() as server, byom_sql.connect() as con:
        out.write(INTRO.format(url=server.url))
        con.cursor.register("generated_home_rentals", home_rentals.generate())
        con.sql("CREATE TABLE home_rentals AS SELECT * FROM generated_home_rentals")
        con.cursor.unregister("generated_home_rentals")
        for comment, sql in walkthrough(server.url):
            out.write(f"-- {comment}\n" if comment else "")
            out.write(f"{sql};\n")
            result = con.sql(sql)
            # a table ends with a blank line, a status not
            print_result(outcome_of(result), "table", out)
            out.write("" if result.has_rows else "\n")
            out.flush()
    out.write(OUTRO)
    return 0


def _no_arguments(parser: argparse.ArgumentParser) -> None:
    """The demo takes no options."""


@subcommand(
    "demo",
    "run MindsDB's bring-your-own-model walkthrough on an embedded DuckDB and a built-in model"
    " server",
    arguments=_no_arguments,
)
def demo(args: argparse.Namespace) -> int:
    return run(sys.stdout)
