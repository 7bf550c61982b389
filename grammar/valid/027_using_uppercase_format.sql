CREATE MODEL m PREDICT y USING FORMAT = 'MLflow', URL.PREDICT = 'http://h/invocations'
