/**
 * The development user of the embedded defaults: a fixed id, so a saved dev
 * token keeps meaning the same account across restarts. Tokens for it are
 * minted only when nothing external is configured (see server.ts and the
 * console route): a production deployment's secret never mints tokens.
 */
export const DEV_USER_ID = '00000000-0000-4000-8000-00000000d3f0';
