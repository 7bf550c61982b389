CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations', dtype_dict = {"a": "integer",}
