CREATE TABLE "queue_lines" (
	"queue" text NOT NULL,
	"user_id" uuid NOT NULL,
	"running" integer DEFAULT 0 NOT NULL,
	"waiting" integer DEFAULT 0 NOT NULL,
	"head_queued_at" timestamp with time zone,
	"head_id" uuid,
	CONSTRAINT "queue_lines_queue_user_id_pk" PRIMARY KEY("queue","user_id")
);
--> statement-breakpoint
CREATE INDEX "queue_lines_next_idx" ON "queue_lines" USING btree ("queue","running","head_queued_at","head_id") WHERE "queue_lines"."head_id" is not null;--> statement-breakpoint
-- Each user's line in each queue (src/resolvers/fairOrder.ts) is kept here, by the database, in the transaction that
-- changes a job: whichever code path queues, takes, finishes, cancels, re-queues or retries it, the line cannot
-- disagree with the jobs. The line row is locked by the first statement below, and the head is re-read only after
-- that, so a concurrent change to the same line (which waits for this transaction) is never missed.
-- Lock order everywhere: the job row, then its user (a refund, a debit), then its line (this trigger). queueJob
-- locks the user, then the line of its new job; so refunds update the user before the job (src/resolvers/refund.ts).
CREATE FUNCTION "genjob_queue_line"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  was_waiting boolean := false;
  was_running boolean := false;
  is_waiting boolean := false;
  is_running boolean := false;
  q text;
  u uuid;
  head_at timestamptz;
  head uuid;
  line_running integer;
  line_waiting integer;
  line_head uuid;
BEGIN
  IF TG_OP = 'DELETE' THEN
    q := OLD.queue;
    u := OLD.user_id;
  ELSE
    q := NEW.queue;
    u := NEW.user_id;
    is_waiting := NEW.status = 'queued' AND NEW.picked_at IS NULL;
    is_running := NEW.status IN ('queued', 'processing') AND NEW.picked_at IS NOT NULL;
    IF is_waiting THEN
      head_at := NEW.queued_at;
      head := NEW.id;
    END IF;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    was_waiting := OLD.status = 'queued' AND OLD.picked_at IS NULL;
    was_running := OLD.status IN ('queued', 'processing') AND OLD.picked_at IS NOT NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND was_waiting = is_waiting AND was_running = is_running AND NOT (is_waiting AND NEW.queued_at <> OLD.queued_at) THEN
    RETURN NULL; -- the line is unchanged (queued -> processing, one finished state to another)
  END IF;
  INSERT INTO "queue_lines" AS l ("queue", "user_id", "running", "waiting", "head_queued_at", "head_id")
  VALUES (q, u, is_running::int - was_running::int, is_waiting::int - was_waiting::int, head_at, head)
  ON CONFLICT ("queue", "user_id") DO UPDATE SET
    "running" = l."running" + EXCLUDED."running",
    "waiting" = l."waiting" + EXCLUDED."waiting",
    "head_queued_at" = CASE WHEN EXCLUDED."head_id" IS NOT NULL AND (l."head_id" IS NULL OR (EXCLUDED."head_queued_at", EXCLUDED."head_id") < (l."head_queued_at", l."head_id"))
      THEN EXCLUDED."head_queued_at" ELSE l."head_queued_at" END,
    "head_id" = CASE WHEN EXCLUDED."head_id" IS NOT NULL AND (l."head_id" IS NULL OR (EXCLUDED."head_queued_at", EXCLUDED."head_id") < (l."head_queued_at", l."head_id"))
      THEN EXCLUDED."head_id" ELSE l."head_id" END
  RETURNING l."running", l."waiting", l."head_id" INTO line_running, line_waiting, line_head;
  IF line_running <= 0 AND line_waiting <= 0 THEN
    DELETE FROM "queue_lines" WHERE "queue" = q AND "user_id" = u;
  ELSIF was_waiting AND line_head = OLD.id AND NOT (is_waiting AND NEW.queued_at = OLD.queued_at) THEN
    -- The head was taken, ended or moved: the user's next oldest untaken job is the head now.
    UPDATE "queue_lines" SET ("head_queued_at", "head_id") = (
      SELECT j."queued_at", j."id" FROM "jobs" j
      WHERE j."queue" = q AND j."user_id" = u AND j."status" = 'queued' AND j."picked_at" IS NULL
      ORDER BY j."queued_at", j."id" LIMIT 1)
    WHERE "queue" = q AND "user_id" = u;
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER "jobs_queue_lines_insert" AFTER INSERT ON "jobs"
  FOR EACH ROW WHEN (NEW.status IN ('queued', 'processing'))
  EXECUTE FUNCTION "genjob_queue_line"();
--> statement-breakpoint
CREATE TRIGGER "jobs_queue_lines_update" AFTER UPDATE OF "status", "picked_at", "queued_at" ON "jobs"
  FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.picked_at IS DISTINCT FROM NEW.picked_at OR OLD.queued_at IS DISTINCT FROM NEW.queued_at)
  EXECUTE FUNCTION "genjob_queue_line"();
--> statement-breakpoint
CREATE TRIGGER "jobs_queue_lines_delete" AFTER DELETE ON "jobs"
  FOR EACH ROW WHEN (OLD.status IN ('queued', 'processing'))
  EXECUTE FUNCTION "genjob_queue_line"();
--> statement-breakpoint
-- The lines of the jobs already waiting or running.
INSERT INTO "queue_lines" ("queue", "user_id", "running", "waiting", "head_queued_at", "head_id")
SELECT "queue", "user_id",
  count(*) FILTER (WHERE "picked_at" IS NOT NULL),
  count(*) FILTER (WHERE "status" = 'queued' AND "picked_at" IS NULL),
  (array_agg("queued_at" ORDER BY "queued_at", "id") FILTER (WHERE "status" = 'queued' AND "picked_at" IS NULL))[1],
  (array_agg("id" ORDER BY "queued_at", "id") FILTER (WHERE "status" = 'queued' AND "picked_at" IS NULL))[1]
FROM "jobs" WHERE "status" IN ('queued', 'processing')
GROUP BY "queue", "user_id";
