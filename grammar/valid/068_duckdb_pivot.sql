PIVOT cities ON year USING sum(population)
