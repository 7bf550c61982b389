CREATE PREDICTOR byom
FROM mydb (SELECT * FROM home_rentals)
USING format = 'ray_serve';
