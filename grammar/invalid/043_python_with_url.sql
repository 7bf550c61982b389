CREATE PREDICTOR m PREDICT y USING format = 'python', module = 'pkg.mod:M',
  url.predict = 'http://127.0.0.1:8000/predict'
