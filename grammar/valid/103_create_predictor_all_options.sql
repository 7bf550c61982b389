CREATE PREDICTOR p PREDICT y USING
  format = 'mlflow',
  url.predict = 'https://models.example.com/invocations',
  dtype_dict = {"x": "integer", "y": "float"},
  batch_size = 500,
  max_concurrency = 4,
  timeout = 2.5,
  train_timeout = 600,
  retries = 0,
  headers = {"Authorization": "Bearer abc", "X-Team": "ml"},
  request_format = 'dataframe_records',
  mlflow_version = 2;
