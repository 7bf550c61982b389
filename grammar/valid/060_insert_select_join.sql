INSERT INTO scored SELECT t.*, p.number_of_rooms FROM home_rentals t JOIN byom p WHERE t.rental_price > 5000
