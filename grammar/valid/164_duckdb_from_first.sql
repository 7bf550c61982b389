FROM home_rentals SELECT initial_price, rental_price WHERE rental_price > 1000;
