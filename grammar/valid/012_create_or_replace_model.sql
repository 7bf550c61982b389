CREATE OR REPLACE MODEL proj.m PREDICT y USING format = 'ray_serve', url.predict = 'http://h/p'
