COPY (SELECT * FROM t) TO 'out.parquet' (FORMAT parquet);
