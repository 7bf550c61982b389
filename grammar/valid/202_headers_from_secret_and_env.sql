CREATE PREDICTOR p PREDICT y USING format = 'mlflow', url.predict = 'http://127.0.0.1:5000/invocations', headers = {"Authorization": {"secret": "model_token"}, "X-Team": {"env": "TEAM"}}
