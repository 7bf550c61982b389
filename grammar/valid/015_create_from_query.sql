CREATE PREDICTOR m FROM (SELECT a, b, y FROM t WHERE a > 0) PREDICT y USING format = 'ray_serve', url.train = 'http://h/train', url.predict = 'http://h/predict'
