CREATE DATABASE d WITH ENGINE = 'duckdb', PARAMETERS = {
  "path": "other.duckdb",
  "read_only": true,
  "options": {"threads": 2, "tags": ["a", "b"], "limit": null, "ratio": -1.5e3}
};
