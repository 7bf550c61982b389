CREATE PREDICTOR m PREDICT y USING url.predict = 'http://h/invocations'
