CREATE PREDICTOR byom PREDICT USING format = 'mlflow';
