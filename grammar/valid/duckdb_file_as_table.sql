SELECT * FROM 'data/*.parquet';
