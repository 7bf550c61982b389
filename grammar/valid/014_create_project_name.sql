CREATE PREDICTOR mindsdb.byom PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations'
