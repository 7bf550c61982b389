CREATE MODEL m PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations', colour = 'red'
