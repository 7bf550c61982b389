CREATE MODEL m PREDICT y USING format = 'sagemaker', url.predict = 'http://h/invocations'
