import { getAccount } from '../resolvers/account.js';
import { requireUser } from './auth.js';
import { builder } from './builder.js';

const Viewer = builder.objectRef<{ id: string; credits: number }>('Viewer').implement({
  fields: (t) => ({ id: t.exposeID('id'), credits: t.exposeInt('credits') }),
});

builder.queryField('me', (t) =>
  t.field({ type: Viewer, resolve: (_root, _args, ctx) => getAccount(ctx.deps, requireUser(ctx).id) }),
);
