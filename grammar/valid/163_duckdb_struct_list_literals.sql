SELECT {'a': 1, 'b': [1, 2]} AS s, [1, 2, 3][2] AS second, MAP {'k': 1} AS m;
