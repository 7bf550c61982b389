SELECT * FROM byom WHERE initial_price IN (1000, 2000) AND rental_price = 3000
