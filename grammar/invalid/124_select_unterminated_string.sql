SELECT * FROM byom WHERE name = 'home;
