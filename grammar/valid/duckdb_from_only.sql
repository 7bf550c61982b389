FROM home_rentals;
