SHOW MODELS FROM mindsdb LIKE '%rent_l%';
