-- Predictions from the MLflow model of examples/mlflow/train.py, served on 127.0.0.1:5000.
-- From the repository's top directory:  byom-sql -f examples/mlflow/predict.sql

CREATE TABLE home_rentals AS SELECT * FROM 'examples/data/home_rentals.csv';

-- MLflow models are trained elsewhere: no url.train, no FROM. dtype_dict names every column
-- the model takes (its signature) and the one it predicts.
CREATE PREDICTOR rentals PREDICT rental_price
USING url.predict = 'http://127.0.0.1:5000/invocations', format = 'mlflow',
dtype_dict = {"location": "categorical", "neighborhood": "categorical", "number_of_rooms": "integer",
              "number_of_bathrooms": "integer", "sqft": "integer", "days_on_market": "integer",
              "rental_price": "float"};

-- one prediction
SELECT rental_price FROM rentals
WHERE location = 'great' AND neighborhood = 'downtown' AND number_of_rooms = 2
  AND number_of_bathrooms = 1 AND sqft = 800 AND days_on_market = 10;

-- every row of a table, then DuckDB aggregates
SELECT t.neighborhood, avg(t.rental_price)::INT AS actual, avg(p.rental_price)::INT AS predicted
FROM home_rentals AS t JOIN rentals AS p
GROUP BY t.neighborhood ORDER BY t.neighborhood;
