SELECT *
FROM mydb (SELECT a, (b + 1 FROM t) AS r;
