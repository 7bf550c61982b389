CREATE PREDICTOR p PREDICT y USING format = 'ray_serve', url.predict = 'http://127.0.0.1:8000/predict', url.train = 'http://127.0.0.1:8000/train', request_format = 'columns', timeout = 1e2;
