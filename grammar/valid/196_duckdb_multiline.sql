SELECT
    a,
    b -- trailing comment
FROM
    t
WHERE
    a > 1;
