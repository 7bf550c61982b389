CREATE PREDICTOR byom2 PREDICT `1` USING url.predict='http://localhost:5000/invocations', format='mlflow', data_dtype={"0": "integer", "1": "integer"}
