SHOW MODELS WHERE status = 'error' AND version > 1
