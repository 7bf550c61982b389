SELECT * FROM byom WHERE initial_price=3000 AND rental_price=3000;
