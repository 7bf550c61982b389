CREATE PREDICTOR p PREDICT "a""b", `c``d` USING format = 'mlflow', url.predict = 'http://127.0.0.1:5000/invocations?tag=it''s';
