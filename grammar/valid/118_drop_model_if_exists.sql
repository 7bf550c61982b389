DROP MODEL IF EXISTS mindsdb.byom;
