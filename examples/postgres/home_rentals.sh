#!/bin/sh
# Loads examples/data/home_rentals.csv into test_data.home_rentals: the table the seed's
# `CREATE DATABASE mydb …` points at. The postgres image runs it once from
# /docker-entrypoint-initdb.d/ (docker-compose.yml). On your own server:
#
#   PGHOST=127.0.0.1 POSTGRES_USER=postgres POSTGRES_DB=test \
#   HOME_RENTALS_CSV=examples/data/home_rentals.csv sh examples/postgres/home_rentals.sh
set -eu
psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-test}" <<SQL
CREATE SCHEMA IF NOT EXISTS test_data;
DROP TABLE IF EXISTS test_data.home_rentals;
CREATE TABLE test_data.home_rentals (
    number_of_rooms integer,
    number_of_bathrooms integer,
    sqft integer,
    location text,
    days_on_market integer,
    initial_price integer,
    neighborhood text,
    rental_price integer
);
\copy test_data.home_rentals FROM '${HOME_RENTALS_CSV:-/data/home_rentals.csv}' WITH (FORMAT csv, HEADER true)
SQL
