CREATE PREDICTOR byom FROM mydb (SELECT number_of_rooms, initial_price, rental_price FROM test_data.home_rentals)
PREDICT number_of_rooms
USING url.train = 'http://127.0.0.1:8000/my_model/train', url.predict = 'http://127.0.0.1:8000/my_model/predict',
      dtype_dict = {"number_of_rooms": "categorical", "initial_price": "integer", "rental_price": "integer"},
      format = 'ray_serve';
