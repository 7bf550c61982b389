CREATE PREDICTOR byom PREDICT y USING format = TRUE, url.predict = 'http://127.0.0.1:5000/invocations';
