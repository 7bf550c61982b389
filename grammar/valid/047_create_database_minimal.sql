CREATE DATABASE d ENGINE 'sqlite' PARAMETERS {"db_file": "/tmp/x.db"}
