CREATE MODEL p PREDICT y USING format = 'mlflow', url.predict = 'http://127.0.0.1:5000/invocations';
