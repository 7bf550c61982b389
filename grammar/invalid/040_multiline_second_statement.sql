SELECT 1;
SELECT 2;
CREATE PREDICTOR m
  PREDICT y
  USING format = 'mlflow', url.predict = 'http://h/invocations', retries = -1;
