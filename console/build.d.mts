export declare const DEFAULT_CONSOLE_DIST: string;
export declare const CONSOLE_INPUTS: string[];
/** Builds the console into `outDir` (default console/dist); resolves the hashed asset paths relative to it. */
export declare function buildConsole(outDir?: string): Promise<{ js: string; css: string }>;
