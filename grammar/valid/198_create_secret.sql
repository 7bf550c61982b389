CREATE SECRET model_token WITH VALUE = 'Bearer abc123'
