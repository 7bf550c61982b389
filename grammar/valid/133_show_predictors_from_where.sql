SHOW PREDICTORS FROM mindsdb WHERE name LIKE 'b%' AND format = 'mlflow';
