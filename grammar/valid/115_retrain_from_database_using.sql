RETRAIN MODEL byom FROM mydb (SELECT * FROM test_data.home_rentals) USING url.train = 'http://127.0.0.1:8000/my_model/train', batch_size = 1000;
