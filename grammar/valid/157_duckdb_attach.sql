ATTACH 'dbname=test host=127.0.0.1' AS pg (TYPE postgres, READ_ONLY);
