CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'ftp://h/invocations'
