-- The reader (nginx's role) writes nothing, not even large objects: any role
-- may create them by default (lo_create, lo_creat, lo_from_bytea), into
-- pg_largeobject, without limit.  Nothing in this project uses them; the
-- other large-object functions work only on objects one owns, and the
-- server-side lo_import and lo_export are for superusers already.
-- Function privileges are per database: this changes only this one.
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_create(oid), pg_catalog.lo_creat(integer),
                           pg_catalog.lo_from_bytea(oid, bytea) FROM PUBLIC;
