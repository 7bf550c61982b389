CREATE PREDICTOR byom PREDICT y USING format = 'mlflow', url.predict = 'ftp://127.0.0.1/invocations';
