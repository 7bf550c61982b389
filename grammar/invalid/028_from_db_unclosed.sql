CREATE MODEL m FROM mydb (SELECT a, y FROM t PREDICT y USING format = 'mlflow', url.predict = 'http://h/invocations'
