DROP PREDICTOR IF EXISTS "my project"."House Price";
