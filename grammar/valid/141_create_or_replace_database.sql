CREATE OR REPLACE DATABASE maria WITH ENGINE = 'mysql', PARAMETERS = {"host": "127.0.0.1", "port": 3306, "user": "root", "password": "", "database": "test"};
