CREATE PREDICTOR byom FROM home_rentals PREDICT y USING format = 'ray_serve', url.predict = 'http://127.0.0.1:8000/predict';
