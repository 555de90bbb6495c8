import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './tool.js';
import './capability.js';
import './telemetry.js';
import './stats.js';
import './catalogTransfer.js';
import './audit.js';
import './apiKey.js';
import './reload.js';
import './catalogEvents.js';
import './selection.js';
import './profiles.js';
import './experiments.js';

export const schema = builder.toSchema({ sortSchema: false });
export const sortedSchema = lexicographicSortSchema(schema);
