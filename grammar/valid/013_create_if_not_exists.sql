CREATE PREDICTOR IF NOT EXISTS m PREDICT y USING format = 'mlflow', url.predict = 'https://models.example.com/invocations'
