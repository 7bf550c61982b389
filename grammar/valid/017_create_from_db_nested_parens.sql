CREATE MODEL m FROM pg (SELECT (a + (b * 2)) AS c, y FROM s.t WHERE f(x) > (SELECT max(z) FROM u)) PREDICT y USING format = 'ray_serve', url.predict = 'http://h/predict'
