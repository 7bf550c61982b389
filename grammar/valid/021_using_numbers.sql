CREATE MODEL m PREDICT y USING format = 'ray_serve', url.predict = 'http://h/p', batch_size = 500, max_concurrency = 4, timeout = 2.5, train_timeout = 600, retries = 0
