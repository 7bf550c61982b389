DESCRIBE MODEL mindsdb.byom;
