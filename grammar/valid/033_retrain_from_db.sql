RETRAIN byom FROM mydb (SELECT * FROM test_data.home_rentals)
