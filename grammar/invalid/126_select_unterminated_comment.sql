SELECT 1 /* not closed;
