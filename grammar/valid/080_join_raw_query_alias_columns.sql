SELECT t.x, p.y FROM my (SELECT `a`, `b` FROM `db`.`t` LIMIT 10) AS t(x, z) JOIN byom AS p ON t.z = p.b
