SELECT {'a': 1, 'b': [1, 2, 3]} AS s, [1, 2][1] AS first
