SELECT name, status, error FROM mindsdb.models WHERE status = 'error';
