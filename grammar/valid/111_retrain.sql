RETRAIN byom;
