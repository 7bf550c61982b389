SHOW MODELS WHERE status = 'error' OR version > 1;
