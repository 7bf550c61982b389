SELECT 'it''s', E'a\\nb'
