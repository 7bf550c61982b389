CREATE PREDICTOR byom PREDICT y USING format = 'mlflow', url.predict = 'localhost:5000/invocations';
