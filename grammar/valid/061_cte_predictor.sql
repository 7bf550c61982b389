WITH recent AS (SELECT * FROM home_rentals WHERE days_on_market < 10) SELECT r.*, p.number_of_rooms FROM recent r JOIN byom p
