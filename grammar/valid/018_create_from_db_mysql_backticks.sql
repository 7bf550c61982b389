CREATE MODEL m FROM my (SELECT `a`, `b` FROM `db`.`t` LIMIT 10) PREDICT b USING format = 'ray_serve', url.predict = 'http://h/predict'
