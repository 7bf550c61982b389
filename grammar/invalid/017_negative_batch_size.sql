CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations', batch_size = -5
