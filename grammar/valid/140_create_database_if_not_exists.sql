CREATE DATABASE IF NOT EXISTS lite WITH ENGINE = 'sqlite', PARAMETERS = {"path": "/tmp/data.sqlite"};
