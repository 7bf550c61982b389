CREATE PREDICTOR m PREDICT y, z USING format = 'mlflow', url.predict = 'http://h/invocations', dtype_dict = {"x": "float", "y": "float", "z": "categorical"}
