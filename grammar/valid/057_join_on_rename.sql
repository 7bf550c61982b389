SELECT t.sqft, p.number_of_rooms FROM home_rentals AS t JOIN byom AS p ON t.sqft = p.initial_price WHERE p.rental_price = 3000
