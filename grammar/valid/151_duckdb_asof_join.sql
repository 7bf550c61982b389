SELECT t.*, p.price FROM trades AS t ASOF JOIN prices AS p ON t.sym = p.sym AND t.ts >= p.ts;
