import { createReferenceUpload, type ReferenceUpload } from '../resolvers/referenceUpload.js';
import { requireUser } from './auth.js';
import { builder } from './builder.js';

const ReferenceUploadRef = builder.objectRef<ReferenceUpload>('ReferenceUpload').implement({
  description: 'Where to PUT a reference image; then pass `path` as a reference url in queueJob.',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'reference_images/<your id>/<file>: use it as ReferenceInput.url.' }),
    uploadUrl: t.exposeString('uploadUrl', { description: 'Send the bytes here with one HTTP PUT before expiresAt.' }),
    method: t.exposeString('method'),
    headers: t.field({ type: 'JSON', description: 'Headers the PUT must carry.', resolve: (u) => u.headers }),
    maxBytes: t.exposeInt('maxBytes'),
    expiresAt: t.field({ type: 'DateTime', resolve: (u) => u.expiresAt }),
  }),
});

builder.mutationField('createReferenceUpload', (t) =>
  t.field({
    type: ReferenceUploadRef,
    description: 'A short-lived upload URL for a reference image (image/png, image/jpeg or image/webp, at most 10 MB).',
    args: { contentType: t.arg.string({ required: true }), filename: t.arg.string() },
    resolve: (_root, args, ctx) => createReferenceUpload(ctx.deps, requireUser(ctx).id, args),
  }),
);
