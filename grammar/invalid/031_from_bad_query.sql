CREATE MODEL m FROM (SELEC a FROM t) PREDICT y USING format = 'ray_serve', url.predict = 'http://h/p'
