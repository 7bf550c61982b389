RETRAIN byom USING timeout = 30, retries = 5;
