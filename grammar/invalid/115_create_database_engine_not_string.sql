CREATE DATABASE mydb WITH ENGINE = postgres, PARAMETERS = {"host": "127.0.0.1"};
