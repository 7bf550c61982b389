CREATE DATABASE IF NOT EXISTS d WITH ENGINE = 'mysql', PARAMETERS = {"host": "127.0.0.1", "port": 3306, "user": "root", "database": "test"}
