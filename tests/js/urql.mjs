#!/usr/bin/env node
// urql with the normalized cache of @urql/exchange-graphcache and its `relayPagination()`
// resolver on Query.orders, the way a frontend pages through ordergraph's orders.
//
//   node tests/js/urql.mjs <graphql http url> <api key> <page size>
//
// Queries page after page (first, after: endCursor); graphcache merges each page into
// one list. Prints {"crawled": {"ids": [...], "pages": N}} with the ids of the merged
// list the last query returned. Exits 1 on any error.
import { Client, fetchExchange, gql } from '@urql/core';
import { cacheExchange } from '@urql/exchange-graphcache';
import { relayPagination } from '@urql/exchange-graphcache/extras';

const [url, key, sizeArgument] = process.argv.slice(2);
const pageSize = Number.parseInt(sizeArgument ?? '', 10);
if (!url || !key || !(pageSize > 0)) {
  console.error('usage: node urql.mjs <http url> <api key> <page size>');
  process.exit(2);
}

const ORDERS = gql`
  query Orders($first: Int!, $after: String) {
    orders(first: $first, after: $after) {
      edges { cursor node { id remoteId status } }
      pageInfo { hasNextPage endCursor }
    }
  }
`;

const client = new Client({
  url,
  fetchOptions: { headers: { authorization: `Bearer ${key}` } },
  exchanges: [
    cacheExchange({
      // Connections, edges and page info have no id: graphcache embeds them in their
      // parent instead of warning that it cannot key them.
      keys: { OrderConnection: () => null, OrderEdge: () => null, PageInfo: () => null },
      resolvers: { Query: { orders: relayPagination() } },
    }),
    fetchExchange,
  ],
});

try {
  let after = null;
  let pages = 0;
  let orders;
  do {
    const result = await client.query(ORDERS, { first: pageSize, after }).toPromise();
    if (result.error) {
      throw result.error;
    }
    orders = result.data.orders;
    pages += 1;
    after = orders.pageInfo.endCursor;
  } while (orders.pageInfo.hasNextPage);
  // relayPagination answers each page's query with every page merged so far.
  console.log(JSON.stringify({ crawled: { ids: orders.edges.map((edge) => edge.node.id), pages } }));
} catch (error) {
  console.error(error instanceof Error ? error.message : JSON.stringify(error));
  process.exitCode = 1;
}
