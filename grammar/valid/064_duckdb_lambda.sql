SELECT list_transform([1, 2, 3], x -> x * 2)
