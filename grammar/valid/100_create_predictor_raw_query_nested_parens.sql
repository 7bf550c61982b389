CREATE PREDICTOR p FROM mydb (
    SELECT a, (b + (c * 2)) AS d, ')' AS paren, "weird)name"
    FROM t /* a comment with ( */
    WHERE x IN (SELECT x FROM u)
) PREDICT d USING format = 'ray_serve', url.train = 'http://127.0.0.1:8000/train', url.predict = 'http://127.0.0.1:8000/predict';
