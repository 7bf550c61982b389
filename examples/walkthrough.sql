-- The seed's walkthrough (MindsDB's "bring your own model"), statement for statement.
-- It needs, on this machine:
--   PostgreSQL on 127.0.0.1:5432 holding test_data.home_rentals in database `test`
--     (examples/postgres/home_rentals.sh loads it);
--   the Ray Serve app on 127.0.0.1:8000 (python examples/ray_serve/app.py).
-- Run it with:  byom-sql -f examples/walkthrough.sql
-- or over the wire with psql (examples/psql.md). docker compose: examples/compose/walkthrough.sql.

-- The seed assumes `mydb` exists; this is how it is made.
CREATE DATABASE mydb WITH ENGINE = 'postgres',
PARAMETERS = {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "postgres"};

CREATE PREDICTOR byom
FROM mydb (
    SELECT number_of_rooms, initial_price, rental_price
    FROM test_data.home_rentals
) PREDICT number_of_rooms
USING
url.train = 'http://127.0.0.1:8000/my_model/train',
url.predict = 'http://127.0.0.1:8000/my_model/predict',
dtype_dict={"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"},
format='ray_server';

SELECT * FROM byom WHERE initial_price=3000 AND rental_price=3000;

SELECT tb.number_of_rooms, t.rental_price FROM mydb.test_data.home_rentals AS t JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300;
