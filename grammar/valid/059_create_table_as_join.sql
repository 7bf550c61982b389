CREATE TABLE scored AS SELECT t.*, p.number_of_rooms FROM home_rentals t JOIN byom p
