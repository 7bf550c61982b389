CREATE PREDICTOR "my project"."House Price" PREDICT "rental price", `select` USING format = 'ray_serve', url.predict = 'http://127.0.0.1:8000/predict';
