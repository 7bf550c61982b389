CREATE PREDICTOR byom PREDICT y USING format = 'mlflow', url.predict = 5000;
