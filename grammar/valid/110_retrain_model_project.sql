RETRAIN MODEL mindsdb.byom;
