SELECT x.* FROM (VALUES (1, 2)) AS x(a, b);
