SELECT * FROM byom.2 WHERE initial_price = 3000;
