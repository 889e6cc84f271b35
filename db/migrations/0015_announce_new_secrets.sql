-- Every new secret is announced on the channel the verify caches LISTEN on, by the database itself, so
-- each replica's membership filter of live secrets holds it before anyone can present it: NOTIFY is
-- queued at commit and every listener is signalled before the creator hears that its commit succeeded,
-- and a key string is only ever revealed after that commit. Payload: `db|new:<hash>` (see
-- src/store/invalidation-channel.ts and docs/architecture.md, "The verify cache across replicas").
CREATE OR REPLACE FUNCTION rekey_announce_new_secret() RETURNS trigger AS $$
BEGIN
  PERFORM pg_notify('rekey_verify_invalidate', 'db|new:' || NEW.hash);
  RETURN NULL;
END;
$$ LANGUAGE plpgsql;
--> statement-breakpoint
CREATE TRIGGER secrets_announce_new AFTER INSERT ON secrets
  FOR EACH ROW EXECUTE FUNCTION rekey_announce_new_secret();
