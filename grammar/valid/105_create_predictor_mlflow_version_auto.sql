CREATE PREDICTOR p PREDICT y USING format = 'mlflow', url.predict = 'http://127.0.0.1:5000/invocations', mlflow_version = 'auto', request_format = 'inputs';
