CREATE MODEL m PREDICT y USING format = 'ray_serve'
