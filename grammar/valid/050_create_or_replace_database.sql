CREATE OR REPLACE DATABASE d WITH ENGINE = 'files', PARAMETERS = {"path": "data/*.parquet", "read_only": true}
