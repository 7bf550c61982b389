SELECT COLUMNS('price_.*') FROM t;
