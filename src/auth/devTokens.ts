import type { Auth } from './tokens.js';

/** A fixed id for the development user, so a saved dev token keeps meaning the same account. */
export const DEV_USER_ID = '00000000-0000-4000-8000-00000000d3f0';

export interface DevTokens {
  user: string;
  worker: string;
}

/**
 * Tokens for trying the product on the embedded defaults (printed at start,
 * pre-filled in GraphiQL). Only ever minted there: a deployment with its own
 * secret or identity provider never issues tokens from this server.
 */
export async function mintDevTokens(auth: Auth): Promise<DevTokens> {
  return {
    user: await auth.sign({ sub: DEV_USER_ID }, '30d'),
    worker: await auth.sign({ sub: 'dev-worker', role: 'service_role' }, '365d'),
  };
}
