CREATE DATABASE files_db ENGINE 'files';
