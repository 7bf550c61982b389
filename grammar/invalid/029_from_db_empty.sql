CREATE MODEL m FROM mydb () PREDICT y USING format = 'ray_serve', url.predict = 'http://h/p'
