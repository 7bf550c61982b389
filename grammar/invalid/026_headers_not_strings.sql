CREATE MODEL m PREDICT y USING format = 'ray_serve', url.predict = 'http://h/p', headers = {"X-N": 1}
