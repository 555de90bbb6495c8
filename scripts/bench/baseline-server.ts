// Baseline servers of the HTTP benchmark (scripts/bench.ts), each run as its own child process:
//
//   node  a plain node:http server answering every request (POST or GET, any path) with the exact
//         response body captured from the service's cached tool-by-name answer;
//   yoga  a bare graphql-yoga server whose only field, `tool: JSON`, returns the captured
//         `data.tool` object, so `{ tool(name: …, platform: …) }` answers with the same bytes.
//
// They show what the same bytes cost without the catalog (node: HTTP only; yoga: HTTP + GraphQL).
//
//   node --import tsx scripts/bench/baseline-server.ts <node|yoga> <port> <captured.json>
// where captured.json is { "body": "<response text>", "contentType": "<header>" }.
// Prints one line `{"listening":<port>}` on stdout once it listens, on 127.0.0.1 only.
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { JSONResolver } from 'graphql-scalars';
import { createSchema, createYoga } from 'graphql-yoga';

export interface CapturedResponse {
  body: string;
  contentType: string;
}

export const BARE_YOGA_TYPE_DEFS = 'scalar JSON\ntype Query { tool(name: String, platform: String): JSON }';

function nodeHandler(captured: CapturedResponse) {
  const bytes = Buffer.from(captured.body, 'utf8');
  const headers = { 'content-type': captured.contentType, 'content-length': String(bytes.length) };
  return (request: IncomingMessage, response: ServerResponse) => {
    // Read the whole request body (as a real server must) before answering.
    request.on('data', () => {});
    request.on('end', () => {
      response.writeHead(200, headers);
      response.end(bytes);
    });
  };
}

function yogaHandler(captured: CapturedResponse) {
  const parsed = JSON.parse(captured.body) as { data?: { tool?: unknown } };
  const tool = parsed.data?.tool ?? null;
  return createYoga({
    schema: createSchema({
      typeDefs: BARE_YOGA_TYPE_DEFS,
      resolvers: { JSON: JSONResolver, Query: { tool: () => tool } },
    }),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    graphiql: false,
    logging: false,
  });
}

const [kind, portArg, capturedPath] = process.argv.slice(2);
if (kind !== 'node' && kind !== 'yoga') {
  console.error('usage: baseline-server.ts <node|yoga> <port> <captured.json>');
  process.exit(2);
}
const captured = JSON.parse(readFileSync(capturedPath!, 'utf8')) as CapturedResponse;
const server = createServer(kind === 'node' ? nodeHandler(captured) : yogaHandler(captured));
server.listen(Number(portArg), '127.0.0.1', () => {
  const address = server.address();
  console.log(JSON.stringify({ listening: typeof address === 'object' && address ? address.port : null }));
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
