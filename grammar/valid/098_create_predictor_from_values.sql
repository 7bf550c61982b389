CREATE PREDICTOR p FROM (VALUES (1, 2), (3, 4)) PREDICT col1 USING format = 'ray_serve', url.train = 'http://127.0.0.1:8000/train', url.predict = 'http://127.0.0.1:8000/predict';
