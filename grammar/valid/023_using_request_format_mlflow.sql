CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations', request_format = 'inputs', mlflow_version = 'auto'
