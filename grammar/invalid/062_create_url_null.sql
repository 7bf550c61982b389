CREATE PREDICTOR byom PREDICT y USING format = 'mlflow', url.predict = NULL;
