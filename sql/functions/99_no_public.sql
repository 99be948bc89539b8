-- Applied last, after every function is defined: PUBLIC executes nothing in
-- the project's schemas.  A function created by CREATE FUNCTION is PUBLIC's
-- to execute whatever a schema's ALTER DEFAULT PRIVILEGES says (per-schema
-- defaults only add to the global ones), and a file that forgets its
-- REVOKE would leave it so; every role that calls a function has its own
-- GRANT next to the definition.  (PUBLIC has no USAGE on these schemas
-- either: this is the second lock, not the only one.)
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA disclosure, disclosure_web, disclosure_preview
    FROM PUBLIC;
