RETRAIN byom USING batch = 10;
