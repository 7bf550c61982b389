CREATE MACRO add(a, b) AS a + b;
