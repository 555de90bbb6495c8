import { GraphQLError } from 'graphql';
import { PothosValidationError } from '@pothos/core';
import type { FeedEvent } from '../events/catalogEventFeed.js';
import { CATALOG_EVENT_TYPES, headRevision, type CatalogEventType } from '../events/eventLog.js';
import { createLoaders, type Loaders } from '../loaders.js';
import { visibleActor } from './actors.js';
import { builder } from './builder.js';

/** An event on its way to one subscriber, with loaders of its own: nothing read for an earlier event is reused. */
interface DeliveredEvent {
  event: FeedEvent;
  loaders: Loaders;
}

const EVENT_DESCRIPTIONS: Record<CatalogEventType | 'REPLAY_TRUNCATED', string> = {
  TOOL_CREATED: 'A new tool, with its first version.',
  TOOL_VERSIONED: 'A new version of a tool (published, draft, or a rollback).',
  TOOL_DEPRECATED: 'A tool was deprecated; or one older version of it, when `details.versionOnly` is true (`version` names it).',
  TOOL_DELETED: 'A tool was deleted (soft).',
  TOOL_RESTORED: 'A deleted tool was restored.',
  TOOL_ENABLED: 'A tool was enabled.',
  TOOL_DISABLED: 'A tool was disabled.',
  RELOAD_STARTED: 'A reload began (written only for a reload that changes something or fails; a reload that finds nothing new records its history row and no events).',
  RELOAD_FINISHED: 'A reload ended and applied its changes (a database reload: dropped every cached answer).',
  RELOAD_FAILED: 'A reload failed and changed nothing.',
  EXPERIMENT_STARTED: 'An experiment started: units are now assigned to its arms (`experimentKey` names it).',
  EXPERIMENT_STOPPED: 'An experiment stopped: no more units are assigned; its results stay readable.',
  EXPERIMENT_CONCLUDED: 'An experiment was concluded with a winner (losing arms may have been deprecated, each with its own TOOL_DEPRECATED event).',
  EXPERIMENT_COVERAGE_CHANGED: 'An experiment’s coverage changed: units join or leave it, none moves to another arm.',
  REPLAY_TRUNCATED:
    'Only in a replay: events up to `revision` have been pruned from the log, so some the client asked for are gone. Re-read what you need; the events after it follow.',
};

const CatalogEventTypeEnum = builder.enumType('CatalogEventType', {
  description: 'Kinds of catalog event.',
  values: Object.fromEntries(
    [...CATALOG_EVENT_TYPES, 'REPLAY_TRUNCATED' as const].map((type) => [type, { value: type, description: EVENT_DESCRIPTIONS[type] }]),
  ) as unknown as Record<CatalogEventType | 'REPLAY_TRUNCATED', { value: CatalogEventType | 'REPLAY_TRUNCATED' }>,
});

const payloadOf = (delivered: DeliveredEvent) => delivered.event.payload as Record<string, unknown>;
const stringIn = (delivered: DeliveredEvent, key: string) => {
  const value = payloadOf(delivered)[key];
  return typeof value === 'string' ? value : null;
};

const CatalogEventRef = builder.objectRef<DeliveredEvent>('CatalogEvent').implement({
  description: 'One change to the catalog, in the order the changes were committed.',
  fields: (t) => ({
    revision: t.int({
      resolve: ({ event }) => Number(event.revision),
      description: 'The catalog revision this event made: later events have larger ones. Pass the last one received as `since` to resume.',
    }),
    type: t.field({ type: CatalogEventTypeEnum, resolve: ({ event }) => event.type as CatalogEventType, description: 'What happened.' }),
    occurredAt: t.field({ type: 'DateTime', resolve: ({ event }) => event.createdAt, description: 'When it was committed.' }),
    toolName: t.string({ nullable: true, resolve: ({ event }) => event.toolName, description: 'Tool changed; null for reload events.' }),
    platform: t.string({ nullable: true, resolve: ({ event }) => event.platform, description: 'Platform of the tool changed.' }),
    experimentKey: t.string({
      nullable: true,
      resolve: (delivered) => stringIn(delivered, 'experimentKey'),
      description: 'For EXPERIMENT_* events: the key of the experiment.',
    }),
    version: t.string({ nullable: true, resolve: ({ event }) => event.version, description: 'Version the change produced or acted on.' }),
    tool: t.prismaField({
      type: 'Tool',
      nullable: true,
      description: 'The tool version the event is about, as it is now (null for reload events, or once it is deleted).',
      resolve: async (query, delivered) => {
        if (!delivered.event.toolId) return null;
        const row = await delivered.loaders.toolById(query).load(delivered.event.toolId);
        return row && !row.deletedAt ? row : null;
      },
    }),
    reload: t.prismaField({
      type: 'CatalogReload',
      nullable: true,
      description: 'For reload events: the reload, from the history.',
      resolve: (query, delivered, _args, ctx) => {
        const id = stringIn(delivered, 'reloadId');
        return id ? ctx.prisma.catalogReload.findUnique({ ...query, where: { id } }) : null;
      },
    }),
    actor: t.string({
      nullable: true,
      resolve: (delivered, _args, ctx) => visibleActor(ctx, stringIn(delivered, 'actor')),
      description: 'Key name or process that made the change; `hidden` for callers below editor.',
    }),
    trigger: t.string({
      nullable: true,
      resolve: (delivered) => stringIn(delivered, 'trigger'),
      description: 'How it was asked for: graphql, cli, import, startup, watch, schedule.',
    }),
    details: t.field({
      type: 'JSON',
      resolve: ({ event }) => event.payload,
      description: 'Everything else recorded with it: for a reload, its counts, duration and error.',
    }),
  }),
});

builder.subscriptionType({
  description: 'Live notifications, over server-sent events (POST /graphql with Accept: text/event-stream) or WebSocket (graphql-ws protocol).',
  authScopes: { reader: true },
});

builder.subscriptionField('catalogEvents', (t) =>
  t.field({
    type: CatalogEventRef,
    description:
      'Every catalog change and reload, in commit order, as it is committed on any instance. With `since`, the events after that revision ' +
      'are replayed from the event log first (as far back as its retention keeps), then live ones follow with none missed or repeated. ' +
      'A subscriber that falls too far behind is dropped with a SUBSCRIBER_TOO_SLOW error telling where to resume. ' +
      'A `since` above the current revision (a client that kept a revision from another database, or a database restored from a backup) ' +
      'is refused with a REVISION_AHEAD error whose `head` extension is the current revision, instead of waiting silently.',
    args: {
      since: t.arg.int({ description: 'The last revision the client saw: replay everything after it. Absent: live events only.' }),
      types: t.arg({ type: [CatalogEventTypeEnum], description: 'Only these kinds; all kinds when absent or empty.' }),
    },
    subscribe: async (_root, args, ctx) => {
      if (args.since !== null && args.since !== undefined && args.since < 0) throw new PothosValidationError('Argument "since" must be 0 or more');
      if (args.since !== null && args.since !== undefined) {
        const head = await headRevision(ctx.prisma);
        if (BigInt(args.since) > head) {
          throw new GraphQLError(`"since" (${args.since}) is ahead of the catalog's current revision ${head}: resume from ${head} or subscribe without since`, {
            extensions: { code: 'REVISION_AHEAD', head: Number(head) },
          });
        }
      }
      return ctx.events.subscribe({
        since: args.since === null || args.since === undefined ? null : BigInt(args.since),
        types: args.types,
        transport: ctx.transport,
        onDrop: ctx.dropConnection,
      });
    },
    resolve: (event, _args, ctx): DeliveredEvent => ({ event, loaders: createLoaders(ctx.prisma, ctx.telemetry) }),
  }),
);
