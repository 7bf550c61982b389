CREATE PREDICTOR p PREDICT price, rooms USING
  format = 'ray_serve',
  url.predict = 'http://127.0.0.1:8000/predict',
  dtype_dict = {"price": "float", "rooms": "integer", "area": "quantity"};
