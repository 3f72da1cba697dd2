#!/usr/bin/env node
// Subscribe to ordergraph's order events with the npm `graphql-ws` client, the way a
// browser or Node frontend does.
//
//   node tests/js/subscribe.mjs <ws url> <api key> <after cursor | -> <count>
//
// Connects with connectionParams {authorization: "Bearer <key>"}, subscribes to
// `orderEvents(after:)`, prints each event as one JSON line on stdout, and completes
// (unsubscribes, closes the socket, exits 0) after <count> events. "-" for the cursor
// means "only new events". Prints `{"subscribed": true}` once the server acknowledged
// the connection, so a caller knows when to cause events. Exits 1 on any error.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, key, afterArgument, countArgument] = process.argv.slice(2);
const count = Number.parseInt(countArgument ?? '', 10);
if (!url || !key || !afterArgument || !(count > 0)) {
  console.error('usage: node subscribe.mjs <ws url> <api key> <after cursor | -> <count>');
  process.exit(2);
}
const after = afterArgument === '-' ? null : afterArgument;

const query = `subscription($after: String) {
  orderEvents(after: $after) { cursor newStatus order { id } }
}`;

const client = createClient({
  url,
  // Node 20 has no global WebSocket.
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${key}` },
  lazy: true,
  retryAttempts: 0,
  on: {
    connected: () => console.log(JSON.stringify({ subscribed: true })),
  },
});

let seen = 0;
try {
  const subscription = client.iterate({ query, variables: { after } });
  for await (const result of subscription) {
    if (result.errors) {
      throw new Error(JSON.stringify(result.errors));
    }
    console.log(JSON.stringify(result.data.orderEvents));
    seen += 1;
    if (seen >= count) {
      break; // leaving the loop completes the subscription ("complete" to the server)
    }
  }
} catch (err) {
  console.error(err instanceof Error ? err.message : JSON.stringify(err));
  process.exitCode = 1;
} finally {
  await client.dispose();
}
