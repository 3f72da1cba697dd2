#!/usr/bin/env node
// Run one query twice through Apollo Client's automatic-persisted-queries link, the
// way a frontend with `createPersistedQueryLink` does.
//
//   node tests/js/apq.mjs <graphql url> <api key> <query>
//
// Prints one JSON line per HTTP request the link made ({"request": {"query": bool,
// "hash": "<sha256 sent>", "queryHash": "<sha256 of the query sent>" | null,
// "status": N}}), then one per result ({"result": {...}}). The
// first run is expected to send the hash, get PERSISTED_QUERY_NOT_FOUND and retry with
// the document; the second to send the hash alone. Exits 1 on any error.
import { createHash } from 'node:crypto';
import { ApolloClient, gql, HttpLink, InMemoryCache } from '@apollo/client/core/index.js';
import { createPersistedQueryLink } from '@apollo/client/link/persisted-queries/index.js';

const [url, key, query] = process.argv.slice(2);
if (!url || !key || !query) {
  console.error('usage: node apq.mjs <graphql url> <api key> <query>');
  process.exit(2);
}

// Logs what the link sent and what came back, then hands the response on unchanged.
async function recordingFetch(input, init) {
  const response = await fetch(input, init);
  const body = JSON.parse(init.body);
  const sent = {
    query: typeof body.query === 'string',
    hash: body.extensions?.persistedQuery?.sha256Hash ?? null,
    // The link hashes the document as it prints it, not as written.
    queryHash: typeof body.query === 'string' ? sha256(body.query) : null,
    status: response.status,
  };
  console.log(JSON.stringify({ request: sent }));
  return response;
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');
const link = createPersistedQueryLink({ sha256 }).concat(
  new HttpLink({ uri: url, fetch: recordingFetch, headers: { authorization: `Bearer ${key}` } }),
);
const client = new ApolloClient({ link, cache: new InMemoryCache() });

try {
  for (let run = 0; run < 2; run += 1) {
    const result = await client.query({ query: gql(query), fetchPolicy: 'network-only' });
    console.log(JSON.stringify({ result: { data: result.data, errors: result.errors ?? null } }));
  }
  process.exit(0);
} catch (error) {
  console.error(error);
  process.exit(1);
}
