CREATE PREDICTOR byom PREDICT rental_price
USING format = 'mlflow',
      url.predict = 'http://127.0.0.1:5000/invocations',
      dtype_dict = {"initial_price": "integer", "number_of_rooms": "integer"};
