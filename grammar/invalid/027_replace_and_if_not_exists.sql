CREATE OR REPLACE PREDICTOR IF NOT EXISTS m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations'
