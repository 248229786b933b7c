CREATE TABLE "job_attempts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"job_id" uuid NOT NULL,
	"number" integer NOT NULL,
	"queue" text NOT NULL,
	"job_type" text NOT NULL,
	"via" text NOT NULL,
	"taken_at" timestamp with time zone NOT NULL,
	"ended_at" timestamp with time zone,
	"outcome" text,
	"error_message" text
);
--> statement-breakpoint
DROP INDEX "jobs_undispatched_idx";--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "queue" text;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "queued_at" timestamp with time zone DEFAULT now() NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "max_attempts" integer DEFAULT 2 NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "payload_id" uuid;--> statement-breakpoint
ALTER TABLE "jobs" ADD COLUMN "last_seen_at" timestamp with time zone;--> statement-breakpoint
-- Jobs queued before the scheduler: their queue from the job type, the job id as the first attempt's payload id,
-- a hand-out already made counted as attempt 1, every job back out of the (now short) Redis window.
UPDATE "jobs" SET "queue" = CASE WHEN "job_type" LIKE 'sdxl%' THEN 'sdxl_queue' ELSE 'wan_queue' END, "payload_id" = "id", "queued_at" = "created_at",
  "attempts" = CASE WHEN "picked_at" IS NOT NULL OR "started_at" IS NOT NULL THEN 1 ELSE 0 END,
  "picked_at" = CASE WHEN "status" = 'processing' THEN coalesce("picked_at", "started_at") ELSE "picked_at" END,
  "last_seen_at" = CASE WHEN "status" IN ('queued', 'processing') THEN coalesce("started_at", "picked_at") END,
  "dispatched_at" = NULL, "dispatch_epoch" = NULL;--> statement-breakpoint
ALTER TABLE "jobs" ALTER COLUMN "queue" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "jobs" ALTER COLUMN "payload_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "job_attempts" ADD CONSTRAINT "job_attempts_job_id_jobs_id_fk" FOREIGN KEY ("job_id") REFERENCES "public"."jobs"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "job_attempts_job_idx" ON "job_attempts" USING btree ("job_id");--> statement-breakpoint
CREATE INDEX "job_attempts_finished_idx" ON "job_attempts" USING btree ("queue","ended_at");--> statement-breakpoint
CREATE INDEX "jobs_waiting_idx" ON "jobs" USING btree ("queue","queued_at","id") WHERE "jobs"."status" = 'queued' and "jobs"."picked_at" is null;--> statement-breakpoint
CREATE INDEX "jobs_waiting_user_idx" ON "jobs" USING btree ("queue","user_id","queued_at","id") WHERE "jobs"."status" = 'queued' and "jobs"."picked_at" is null;--> statement-breakpoint
CREATE INDEX "jobs_running_idx" ON "jobs" USING btree ("queue","user_id") WHERE "jobs"."status" in ('queued', 'processing') and "jobs"."picked_at" is not null;--> statement-breakpoint
CREATE INDEX "jobs_windowed_idx" ON "jobs" USING btree ("queue","dispatched_at") WHERE "jobs"."dispatched_at" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_payload_id_idx" ON "jobs" USING btree ("payload_id");--> statement-breakpoint
ALTER TABLE "jobs" DROP COLUMN "dispatch_lease_until";