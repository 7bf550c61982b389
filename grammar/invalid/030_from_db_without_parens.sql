CREATE MODEL m FROM mydb SELECT a FROM t PREDICT y USING format = 'ray_serve', url.predict = 'http://h/p'
