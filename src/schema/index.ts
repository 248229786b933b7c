import { builder } from './builder.js';
import './scalars.js';
import './enums.js';
import './job.js';
import './schedule.js';
import './jobType.js';
import './viewer.js';
import './reference.js';
import './webhook.js';

export const schema = builder.toSchema({ sortSchema: false });
