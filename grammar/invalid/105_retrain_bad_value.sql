RETRAIN MODEL byom
USING url.train = 'not a url';
