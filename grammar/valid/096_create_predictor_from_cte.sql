CREATE MODEL p FROM (
  WITH recent AS (SELECT * FROM home_rentals WHERE year >= 2020)
  SELECT * FROM recent
) PREDICT rental_price USING format = 'ray_serve', url.train = 'http://127.0.0.1:8000/train', url.predict = 'http://127.0.0.1:8000/predict';
