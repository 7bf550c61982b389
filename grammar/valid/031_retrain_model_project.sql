RETRAIN MODEL mindsdb.byom
