SELECT rental_price FROM mindsdb.byom.2 WHERE initial_price = 3000 AND number_of_rooms = 2;
