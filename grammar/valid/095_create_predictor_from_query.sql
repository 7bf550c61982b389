CREATE PREDICTOR p
FROM (SELECT number_of_rooms, initial_price FROM home_rentals WHERE initial_price > 1000)
PREDICT number_of_rooms
USING format = 'ray_serve', url.train = 'http://127.0.0.1:8000/train', url.predict = 'http://127.0.0.1:8000/predict';
