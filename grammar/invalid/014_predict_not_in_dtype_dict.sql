CREATE MODEL m PREDICT price USING format = 'mlflow', url.predict = 'http://h/invocations', dtype_dict = {"a": "integer"}
