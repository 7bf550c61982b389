SELECT * FROM byom WHERE initial_price = $1 AND rental_price = ?
