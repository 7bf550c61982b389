COPY t FROM 'in.csv' (HEADER, DELIMITER ',');
