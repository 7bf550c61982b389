RETRAIN byom USING url.train = 'http://h/train', batch_size = 100
