CREATE PREDICTOR `byom PREDICT y USING format = 'mlflow';
