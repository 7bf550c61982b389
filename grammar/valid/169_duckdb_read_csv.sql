SELECT * FROM read_csv('data.csv', header = true);
