RETRAIN byom FROM (SELECT * FROM home_rentals WHERE year = 2024);
