CREATE DATABASE mydb WITH ENGINE = 'postgres', PARAMETERS = {"host": "127.0.0.1", "port": 5432, "database": "test"};
