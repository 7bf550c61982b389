-- examples/walkthrough.sql for the docker compose stack: the same statements, with the
-- services' names for hosts. From the host, once `docker compose up --wait` is done:
--   PGPASSWORD=byom psql -h 127.0.0.1 -p 55432 -U byom -d byom -f examples/compose/walkthrough.sql

-- The seed assumes `mydb` exists; this is how it is made.
CREATE DATABASE mydb WITH ENGINE = 'postgres',
PARAMETERS = {"host": "postgres", "port": 5432, "database": "test", "user": "postgres"};

CREATE PREDICTOR byom
FROM mydb (
    SELECT number_of_rooms, initial_price, rental_price
    FROM test_data.home_rentals
) PREDICT number_of_rooms
USING
url.train = 'http://ray-serve:8000/my_model/train',
url.predict = 'http://ray-serve:8000/my_model/predict',
dtype_dict={"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"},
format='ray_server';

SELECT * FROM byom WHERE initial_price=3000 AND rental_price=3000;

SELECT tb.number_of_rooms, t.rental_price FROM mydb.test_data.home_rentals AS t JOIN mindsdb.byom AS tb WHERE t.rental_price > 5300;

-- The MLflow model of examples/mlflow (it predicts rental_price; no training call).
CREATE PREDICTOR rentals PREDICT rental_price
USING url.predict = 'http://mlflow:5000/invocations', format = 'mlflow',
dtype_dict = {"location": "categorical", "neighborhood": "categorical", "number_of_rooms": "integer",
              "number_of_bathrooms": "integer", "sqft": "integer", "days_on_market": "integer",
              "rental_price": "float"};

SELECT t.neighborhood, avg(t.rental_price)::INT AS actual, avg(p.rental_price)::INT AS predicted
FROM mydb.test_data.home_rentals AS t JOIN rentals AS p
GROUP BY t.neighborhood ORDER BY t.neighborhood;
