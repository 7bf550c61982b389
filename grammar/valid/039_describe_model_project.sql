DESCRIBE MODEL mindsdb.byom
