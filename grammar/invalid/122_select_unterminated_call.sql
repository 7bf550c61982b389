SELECT initial_price
FROM home_rentals
WHERE initial_price IN (1000, 2000;
