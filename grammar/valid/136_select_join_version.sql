SELECT t.initial_price, p.rental_price
FROM home_rentals AS t
JOIN mindsdb.byom.3 AS p ON TRUE
WHERE t.initial_price > 1000
ORDER BY t.initial_price
LIMIT 10;
