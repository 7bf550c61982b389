CREATE PREDICTOR byom PREDICT y USING format = 'onnx', url.predict = 'http://127.0.0.1:5000/invocations';
