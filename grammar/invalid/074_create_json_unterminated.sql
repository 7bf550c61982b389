CREATE PREDICTOR byom PREDICT y USING format = 'mlflow', url.predict = 'http://127.0.0.1:5000/invocations', dtype_dict = {"y": "float"
