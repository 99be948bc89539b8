-- Open data in bulk (issue 14): disclosure_web.data_file() also gives the
-- file's size in bytes, which nginx sends as Content-Length, so that a client
-- of any HTTP version can tell a download cut by a failure from a whole one.
-- A new OUT column changes the function's row type, which CREATE OR REPLACE
-- cannot do: the old one is dropped here and sql/functions/85_open_data.sql
-- defines the new one (README, "Migrations"); in a fresh install the old one
-- is dropped before it was ever used.
DROP FUNCTION IF EXISTS disclosure_web.data_file(text, int, int);
