UPDATE t SET a = a + 1 WHERE b = 'x';
