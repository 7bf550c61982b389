-- a predictor for rentals
CREATE /* kind */ PREDICTOR p -- name
PREDICT y -- target
USING format = 'mlflow', -- wire format
      url.predict = 'http://127.0.0.1:5000/invocations' /* endpoint */;
