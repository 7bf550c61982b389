CREATE PREDICTOR p FROM mydb (-- the rentals, from postgres
    SELECT   *
      FROM   rentals    -- odd   spacing is kept
) PREDICT y USING format = 'ray_serve', url.train = 'http://127.0.0.1:8000/train', url.predict = 'http://127.0.0.1:8000/predict';
