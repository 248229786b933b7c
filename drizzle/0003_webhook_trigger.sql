-- The webhook outbox is filled here, by the database, in the transaction that
-- changes a job's status: whichever code path makes the change (a callback, a
-- cancel, the sweeper, a retry), it cannot commit without its delivery row.
-- pg_notify is delivered at commit, so dispatchers wake only for committed rows.
CREATE FUNCTION "genjob_webhook_event"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.webhook_events ? NEW.status THEN
    INSERT INTO "webhook_deliveries" ("job_id", "user_id", "event", "url", "job", "next_attempt_at")
    VALUES (NEW.id, NEW.user_id, NEW.status, NEW.webhook, to_jsonb(NEW) - 'payload', now());
    PERFORM pg_notify('genjob_webhooks', NEW.id::text);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "jobs_webhook_events" AFTER UPDATE OF "status" ON "jobs"
  FOR EACH ROW WHEN (NEW.webhook IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status)
  EXECUTE FUNCTION "genjob_webhook_event"();
