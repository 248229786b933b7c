ALTER TABLE "images" ADD COLUMN "thumbnail_path" text;--> statement-breakpoint
ALTER TABLE "images" ADD COLUMN "content_type" text;--> statement-breakpoint
ALTER TABLE "videos" ADD COLUMN "thumbnail_path" text;--> statement-breakpoint
ALTER TABLE "videos" ADD COLUMN "content_type" text;