SELECT t.location, avg(p.number_of_rooms) AS rooms FROM home_rentals t JOIN byom p GROUP BY t.location ORDER BY rooms DESC LIMIT 5
