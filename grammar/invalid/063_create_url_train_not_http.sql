CREATE PREDICTOR byom
PREDICT y
USING format = 'ray_serve',
      url.predict = 'http://127.0.0.1:8000/predict',
      url.train = 'train';
