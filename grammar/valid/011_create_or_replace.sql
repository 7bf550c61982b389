CREATE OR REPLACE PREDICTOR m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations'
