CREATE DATABASE pg ENGINE 'postgres' PARAMETERS {"host": "127.0.0.1", "user": "postgres"};
