CREATE PREDICTOR byom
FROM mydb (SELECT * FROM home_rentals)
PREDICT rental_price
USING format = 'mlflow',
      url.predict = 'http://127.0.0.1:5000/invocations',
      url.train = 'http://127.0.0.1:5000/train';
