import { createReferenceUpload, type ReferenceUpload } from '../resolvers/referenceUpload.js';
import { requireUser } from './auth.js';
import { builder } from './builder.js';

const ReferenceUploadRef = builder.objectRef<ReferenceUpload>('ReferenceUpload').implement({
  description:
    'Where to upload a reference image; then pass `path` as a reference url in queueJob. With method PUT, send the bytes as the body with `headers`; with method POST, send a multipart/form-data body with every entry of `fields` and then the image as the part named "file".',
  fields: (t) => ({
    path: t.exposeString('path', { description: 'reference_images/<your id>/<file>: use it as ReferenceInput.url.' }),
    uploadUrl: t.exposeString('uploadUrl', { description: 'Send the image here with one request of `method` before expiresAt.' }),
    method: t.exposeString('method', { description: 'PUT (local storage) or POST (S3: a form upload whose signed policy enforces maxBytes).' }),
    headers: t.field({ type: 'JSON', description: 'Headers the upload must carry.', resolve: (u) => u.headers }),
    fields: t.field({
      type: 'JSON',
      description: 'For method POST: the form fields to send, in this order, before the file part "file". Empty for PUT.',
      resolve: (u) => u.fields,
    }),
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
