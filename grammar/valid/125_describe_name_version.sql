DESCRIBE mindsdb.byom.2;
