-- signed-payloads key store, schema version 1.
--
-- The rules of a key registry hold in the database itself, for every writer
-- (several processes, or a person at psql):
--   * at most two active keys per tenant, and at least one once it has any:
--     the tenant row counts its active keys; every insert or retirement
--     updates that count in the same statement (a trigger), and the UPDATE
--     takes the tenant row's lock, so two writers of one tenant queue up
--     and the second sees the first's count;
--   * a kid is unique per tenant for ever (the primary key; rows are never
--     deleted) and never rebound to other material (key columns are
--     immutable);
--   * retirement keeps the row, with who and when.

CREATE TABLE signed_payloads_tenants (
    tenant      text PRIMARY KEY CHECK (length(tenant) BETWEEN 1 AND 256),
    active_keys integer NOT NULL DEFAULT 0
        CONSTRAINT signed_payloads_key_limit CHECK (active_keys BETWEEN 0 AND 2)
);

CREATE TABLE signed_payloads_keys (
    tenant      text NOT NULL REFERENCES signed_payloads_tenants (tenant),
    kid         text NOT NULL CHECK (length(kid) BETWEEN 1 AND 256),
    algorithm   text NOT NULL
        CHECK (algorithm IN ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512')),
    -- SubjectPublicKeyInfo DER of the RSA public key.
    public_key  bytea NOT NULL,
    -- RFC 7638 thumbprint, for people reading the table.
    thumbprint  text NOT NULL,
    expires_at  timestamptz,
    added_at    timestamptz NOT NULL DEFAULT now(),
    added_by    text NOT NULL,
    retired_at  timestamptz,
    retired_by  text,
    PRIMARY KEY (tenant, kid),
    CHECK ((retired_at IS NULL) = (retired_by IS NULL))
);

CREATE INDEX signed_payloads_active_keys
    ON signed_payloads_keys (tenant) WHERE retired_at IS NULL;

CREATE FUNCTION signed_payloads_keys_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    delta  integer := 0;
    active integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'signed-payloads keys are history and are never deleted'
            USING ERRCODE = 'SPK03';
    ELSIF TG_OP = 'INSERT' THEN
        IF NEW.retired_at IS NULL THEN
            delta := 1;
        END IF;
    ELSE
        IF (NEW.tenant, NEW.kid, NEW.algorithm, NEW.public_key, NEW.thumbprint,
            NEW.expires_at, NEW.added_at, NEW.added_by)
           IS DISTINCT FROM
           (OLD.tenant, OLD.kid, OLD.algorithm, OLD.public_key, OLD.thumbprint,
            OLD.expires_at, OLD.added_at, OLD.added_by)
           OR OLD.retired_at IS NOT NULL THEN
            RAISE EXCEPTION 'a key id is never rebound and a retired key stays retired'
                USING ERRCODE = 'SPK03';
        END IF;
        IF NEW.retired_at IS NOT NULL THEN
            delta := -1;
        END IF;
    END IF;
    -- The row lock taken here serializes the writers of one tenant; under
    -- READ COMMITTED a waiting writer re-reads the committed count, under
    -- REPEATABLE READ or SERIALIZABLE it fails with a serialization error.
    UPDATE signed_payloads_tenants
       SET active_keys = active_keys + delta
     WHERE tenant = NEW.tenant
    RETURNING active_keys INTO active;
    IF active = 0 THEN
        RAISE EXCEPTION 'cannot retire the last active key of tenant %', NEW.tenant
            USING ERRCODE = 'SPK02';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER signed_payloads_keys_guard
    AFTER INSERT OR UPDATE OR DELETE ON signed_payloads_keys
    FOR EACH ROW EXECUTE FUNCTION signed_payloads_keys_guard();
