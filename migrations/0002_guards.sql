-- signed-payloads key store, schema version 2: the rules hold against plain
-- SQL writers too, not only against the crate.
--   * TRUNCATE of either table is refused (it would wipe the history, after
--     which a retired kid could be bound to other material);
--   * the tenant row's active-key count is written only by the key trigger:
--     a direct UPDATE of it, or a tenant row inserted with a count, is
--     refused; and every key write checks the count against the rows
--     themselves, so a count that drifted anyway is caught at the next write;
--   * a key cannot be retired before it was added.
-- (A superuser can still disable triggers, e.g. with session_replication_role:
-- connect the application as a role that is not one.)

CREATE FUNCTION signed_payloads_refuse_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'signed-payloads keys are history: % cannot be truncated', TG_TABLE_NAME
        USING ERRCODE = 'SPK03';
END
$$;

CREATE TRIGGER signed_payloads_keys_no_truncate
    BEFORE TRUNCATE ON signed_payloads_keys
    FOR EACH STATEMENT EXECUTE FUNCTION signed_payloads_refuse_truncate();

CREATE TRIGGER signed_payloads_tenants_no_truncate
    BEFORE TRUNCATE ON signed_payloads_tenants
    FOR EACH STATEMENT EXECUTE FUNCTION signed_payloads_refuse_truncate();

-- Only the key trigger (one trigger level down) may set the count.
CREATE FUNCTION signed_payloads_tenants_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() > 1 THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'INSERT' AND NEW.active_keys <> 0 THEN
        RAISE EXCEPTION 'a tenant starts with no active key; add keys to change the count'
            USING ERRCODE = 'SPK03';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'the active-key count of tenant % is kept by the key table', OLD.tenant
            USING ERRCODE = 'SPK03';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER signed_payloads_tenants_guard
    BEFORE INSERT OR UPDATE ON signed_payloads_tenants
    FOR EACH ROW EXECUTE FUNCTION signed_payloads_tenants_guard();

-- After every key write, the count must equal the active rows.
CREATE FUNCTION signed_payloads_keys_count_check() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    counted integer;
    stored  integer;
BEGIN
    SELECT count(*) INTO counted
      FROM signed_payloads_keys
     WHERE tenant = NEW.tenant AND retired_at IS NULL;
    SELECT active_keys INTO stored
      FROM signed_payloads_tenants
     WHERE tenant = NEW.tenant;
    IF counted IS DISTINCT FROM stored OR counted > 2 THEN
        RAISE EXCEPTION 'tenant % would have % active keys (count %); refused', NEW.tenant, counted, stored
            USING ERRCODE = 'SPK01';
    END IF;
    RETURN NULL;
END
$$;

-- Named to run after signed_payloads_keys_guard (triggers fire in name order).
CREATE TRIGGER signed_payloads_keys_zcount
    AFTER INSERT OR UPDATE ON signed_payloads_keys
    FOR EACH ROW EXECUTE FUNCTION signed_payloads_keys_count_check();

ALTER TABLE signed_payloads_keys
    ADD CONSTRAINT signed_payloads_retired_after_added
    CHECK (retired_at IS NULL OR retired_at >= added_at);
