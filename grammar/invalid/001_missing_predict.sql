CREATE PREDICTOR byom USING format = 'mlflow', url.predict = 'http://h/invocations'
