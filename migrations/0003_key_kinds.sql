-- signed-payloads key store, schema version 3: keys of every kind.
--
-- Each key row says what kind of key it holds (RSA, EC P-256, EC P-384,
-- EC P-521, Ed25519), and its algorithm must be one that kind allows; the
-- crate also checks, on every read, that the SubjectPublicKeyInfo is of
-- the stated kind. Rows written before this version are RSA keys (the
-- only kind there was), which the column's default records as it is
-- added; the default is then dropped, so every later writer names the
-- kind. Like the other key columns, the kind never changes.

ALTER TABLE signed_payloads_keys
    DROP CONSTRAINT signed_payloads_keys_algorithm_check;

ALTER TABLE signed_payloads_keys
    ADD COLUMN key_kind text NOT NULL DEFAULT 'RSA';

ALTER TABLE signed_payloads_keys
    ALTER COLUMN key_kind DROP DEFAULT;

ALTER TABLE signed_payloads_keys
    ADD CONSTRAINT signed_payloads_algorithm_fits_kind CHECK (
        (key_kind = 'RSA'
            AND algorithm IN ('RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'))
        OR (key_kind = 'EC P-256' AND algorithm = 'ES256')
        OR (key_kind = 'EC P-384' AND algorithm = 'ES384')
        OR (key_kind = 'EC P-521' AND algorithm = 'ES512')
        OR (key_kind = 'Ed25519' AND algorithm IN ('EdDSA', 'Ed25519'))
    );

CREATE FUNCTION signed_payloads_keys_kind_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.key_kind IS DISTINCT FROM OLD.key_kind THEN
        RAISE EXCEPTION 'the kind of key % never changes', OLD.kid
            USING ERRCODE = 'SPK03';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER signed_payloads_keys_kind_guard
    BEFORE UPDATE ON signed_payloads_keys
    FOR EACH ROW EXECUTE FUNCTION signed_payloads_keys_kind_guard();
