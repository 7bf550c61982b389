CREATE PREDICTOR byom
FROM mydb (
    SELECT (a + b FROM t
PREDICT y
USING format = 'ray_serve', url.train = 'http://127.0.0.1:8000/train', url.predict = 'http://127.0.0.1:8000/predict';
