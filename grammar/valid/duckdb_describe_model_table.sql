DESCRIBE model;
