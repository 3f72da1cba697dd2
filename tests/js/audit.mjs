#!/usr/bin/env node
// The graphql-http server audit (GraphQL-over-HTTP spec conformance) against a live
// ordergraph.
//
//   node tests/js/audit.mjs <graphql url> [api key]
//
// The key may also come from $ORDERGRAPH_API_KEY (keeps it out of `ps`). Every audit
// request carries `Authorization: Bearer <key>`: ordergraph answers nothing without a
// tenant, and graphql-http's audits send no credentials of their own, so the fetch
// function they use is wrapped to add the header.
//
// Prints one line per audit (ok / notice / warn / error, its id and name, and the
// reason for anything but ok), then a summary. Exits 1 on any "error" (a MUST or a
// SHOULD the spec's watershed made binding); warnings and notices are allowed.
import { serverAudits } from 'graphql-http';

const [url, keyArgument] = process.argv.slice(2);
const key = keyArgument ?? process.env.ORDERGRAPH_API_KEY;
if (!url || !key) {
  console.error('usage: node audit.mjs <graphql url> <api key>  (or set ORDERGRAPH_API_KEY)');
  process.exit(2);
}

/** fetch, with the tenant's API key on every request. */
function authorizedFetch(input, init = {}) {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${key}`);
  return fetch(input, { ...init, headers });
}

const counts = { ok: 0, notice: 0, warn: 0, error: 0 };
// One at a time: the output reads in order and the server is not flooded.
for (const audit of serverAudits({ url, fetchFn: authorizedFetch })) {
  let result;
  try {
    result = await audit.fn();
  } catch (err) {
    // graphql-http throws only on a fatal failure (connection refused, say).
    result = { id: audit.id, name: audit.name, status: 'error', reason: String(err) };
  }
  counts[result.status] += 1;
  const line = `${result.status.padEnd(6)} ${result.id} ${result.name}`;
  if (result.status === 'ok') {
    console.log(line);
  } else {
    const status = result.response ? ` [HTTP ${result.response.status}]` : '';
    console.log(`${line}\n       ${result.reason}${status}`);
  }
}

console.log(
  `graphql-http audit: ${counts.ok} ok, ${counts.notice} notice, ` +
    `${counts.warn} warn, ${counts.error} error`,
);
process.exit(counts.error > 0 ? 1 : 0);
