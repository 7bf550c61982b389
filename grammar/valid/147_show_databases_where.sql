SHOW DATABASES WHERE engine = 'postgres';
