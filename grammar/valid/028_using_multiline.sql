CREATE MODEL m
PREDICT y
USING
    format = 'ray_serve',
    url.predict = 'http://h/p',
    dtype_dict = {
        "a": "integer",
        "y": "float"
    }
