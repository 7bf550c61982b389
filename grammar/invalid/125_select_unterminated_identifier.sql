SELECT "rental_price FROM byom;
