CREATE PREDICTOR byom PREDICT y USING format = 'ray_serve';
