CREATE PREDICTOR byom PREDICT y USING url.predcit = 'http://127.0.0.1:5000/invocations';
