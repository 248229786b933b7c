/** Types for scripts/build.mjs (plain JavaScript, so that it runs before anything is compiled). */
export declare const STAMP: string;
export declare function build(opts?: { quiet?: boolean }): Promise<void>;
/** dist/ is missing, unfinished, or older than a source file, a migration or the build settings. */
export declare function isStale(): boolean;
/** Builds when stale (or always with `force`), under a lock shared by concurrent starts; true when it built. */
export declare function ensureBuilt(opts?: { force?: boolean; quiet?: boolean }): Promise<boolean>;
