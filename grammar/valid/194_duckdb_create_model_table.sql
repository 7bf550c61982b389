CREATE TABLE model (predictor VARCHAR, models INTEGER);
