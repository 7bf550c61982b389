"""byom_sql from Python: the seed's predictor on a DuckDB table, results as tuples, pandas and
Arrow, and what an error looks like.

It needs a model server speaking the Ray Serve contract at --model-url: the Ray Serve app
(python examples/ray_serve/app.py) or, without Ray, the demo's (python -m byom_sql.demo.server).

    python examples/python_api.py [--model-url http://127.0.0.1:8000/my_model]
"""

import argparse
from pathlib import Path

import byom_sql

DATA = Path(__file__).resolve().parent / "data" / "home_rentals.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model-url", default="http://127.0.0.1:8000/my_model")
    url = parser.parse_args().model_url

    # connect() opens an engine of its own: in memory here, or on a DuckDB file that keeps
    # tables and predictors between runs: byom_sql.connect("state.duckdb")
    with byom_sql.connect() as con:
        con.sql(f"CREATE TABLE home_rentals AS SELECT * FROM read_csv('{DATA}')")
        con.sql(
            f"""CREATE PREDICTOR byom
            FROM (SELECT number_of_rooms, initial_price, rental_price FROM home_rentals)
            PREDICT number_of_rooms
            USING url.train = '{url}/train', url.predict = '{url}/predict',
                  dtype_dict = {{"number_of_rooms": "categorical",
                                 "initial_price": "integer", "rental_price": "integer"}},
                  format = 'ray_server'"""
        )

        # one prediction; $1, $2 are bound parameters
        rooms, confidence = con.sql(
            "SELECT number_of_rooms, number_of_rooms_confidence FROM byom "
            "WHERE initial_price = $1 AND rental_price = $2",
            [3000, 3000],
        ).fetchone()
        print(f"a home listed at 3000 and let at 3000 has {rooms} rooms ({confidence:.0%} sure)")

        # every row of a table, as a pandas DataFrame
        scored = con.sql(
            "SELECT t.number_of_rooms AS actual, p.number_of_rooms AS predicted "
            "FROM home_rentals AS t JOIN byom AS p"
        ).df()
        accuracy = (scored.actual == scored.predicted).mean()
        print(f"scored {len(scored)} homes: {accuracy:.0%} have the predicted number of rooms")

        # as Arrow, for anything that speaks it (Polars, DuckDB, Parquet writers …)
        table = con.sql(
            "SELECT t.*, p.number_of_rooms AS predicted_rooms "
            "FROM home_rentals AS t JOIN byom AS p WHERE t.rental_price > 5300"
        ).arrow()
        print(f"homes let above 5300: {table.num_rows}, columns: {', '.join(table.column_names)}")

        # errors are byom_sql.Error, with a SQLSTATE and a message meant for a person
        try:
            con.sql("SELECT * FROM byom WHERE initial_price = 3000")
        except byom_sql.Error as error:
            print(f"error {error.sqlstate}: {error.message}")


if __name__ == "__main__":
    main()
