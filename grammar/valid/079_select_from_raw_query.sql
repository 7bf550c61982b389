SELECT r.price FROM mydb (SELECT rental_price::text AS price FROM test_data.home_rentals WHERE (rental_price > 5300)) AS r ORDER BY 1
