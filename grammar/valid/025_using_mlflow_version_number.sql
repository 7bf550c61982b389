CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations', mlflow_version = 1
