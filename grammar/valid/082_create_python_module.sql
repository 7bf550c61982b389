CREATE PREDICTOR verta PREDICT y USING format = 'python', module = 'pkg.models:VertaModel', artifacts = '/srv/models/verta', batch_size = 500
