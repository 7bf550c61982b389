CREATE MODEL m FROM (WITH x AS (SELECT * FROM t) SELECT * FROM x) PREDICT y USING format = 'ray_serve', url.predict = 'http://h/predict'
