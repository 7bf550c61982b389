SET threads = 2;
