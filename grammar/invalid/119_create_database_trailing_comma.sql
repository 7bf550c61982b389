CREATE DATABASE mydb WITH ENGINE = 'postgres',;
