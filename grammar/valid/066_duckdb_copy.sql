COPY t TO 'out.parquet' (FORMAT parquet)
