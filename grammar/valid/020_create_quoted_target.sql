CREATE PREDICTOR m PREDICT "Target Col" USING format = 'mlflow', url.predict = 'http://h/invocations'
