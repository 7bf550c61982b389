CREATE PREDICTOR byom PREDICT a, USING format = 'mlflow';
