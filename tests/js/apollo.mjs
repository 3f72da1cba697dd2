#!/usr/bin/env node
// Apollo Client 3 the way a frontend uses it against ordergraph: an InMemoryCache with
// `relayStylePagination()` on Query.orders, HTTP for queries, GraphQLWsLink for
// subscriptions.
//
//   node tests/js/apollo.mjs <graphql http url> <graphql ws url> <api key> <page size>
//
// 1. Crawls Query.orders page by page with fetchMore(first, after: endCursor) and prints
//    {"crawled": {"ids": [...], "pages": N}}: the ids as the cache's merged list holds
//    them at the end.
// 2. Subscribes to orderEvents through GraphQLWsLink and prints {"subscribed": true} once
//    the server acknowledged the connection, so the caller knows when to change an order.
// 3. On the first event prints {"event": {...}, "before": {...}, "after": {...}}: the
//    normalized Order as cache.readFragment showed it before the event and after it.
// Exits 0 after that; 1 on any error.
import { ApolloClient, gql, HttpLink, InMemoryCache, split } from '@apollo/client/core/index.js';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions/index.js';
import { getMainDefinition, relayStylePagination } from '@apollo/client/utilities/index.js';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [httpUrl, wsUrl, key, sizeArgument] = process.argv.slice(2);
const pageSize = Number.parseInt(sizeArgument ?? '', 10);
if (!httpUrl || !wsUrl || !key || !(pageSize > 0)) {
  console.error('usage: node apollo.mjs <http url> <ws url> <api key> <page size>');
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
const EVENTS = gql`
  subscription Events {
    orderEvents { cursor newStatus order { id status } }
  }
`;
const ORDER_STATUS = gql`
  fragment OrderStatus on Order { id status }
`;

const wsClient = createClient({
  url: wsUrl,
  // Node 20 has no global WebSocket.
  webSocketImpl: WebSocket,
  connectionParams: { authorization: `Bearer ${key}` },
  retryAttempts: 0,
  on: { connected: () => console.log(JSON.stringify({ subscribed: true })) },
});
const httpLink = new HttpLink({ uri: httpUrl, headers: { authorization: `Bearer ${key}` } });
// Subscriptions over the socket, everything else over HTTP: Apollo's documented split.
const link = split(
  ({ query }) => {
    const definition = getMainDefinition(query);
    return definition.kind === 'OperationDefinition' && definition.operation === 'subscription';
  },
  new GraphQLWsLink(wsClient),
  httpLink,
);
const cache = new InMemoryCache({
  typePolicies: { Query: { fields: { orders: relayStylePagination() } } },
});
const client = new ApolloClient({ link, cache });

function failOn(errors) {
  if (errors?.length) {
    throw new Error(JSON.stringify(errors));
  }
}

async function crawl() {
  const watched = client.watchQuery({ query: ORDERS, variables: { first: pageSize } });
  const first = await watched.result();
  failOn(first.errors);
  let page = first.data.orders;
  let pages = 1;
  while (page.pageInfo.hasNextPage) {
    // fetchMore resolves with this page alone; the cache merges it into the list.
    const more = await watched.fetchMore({ variables: { after: page.pageInfo.endCursor } });
    failOn(more.errors);
    page = more.data.orders;
    pages += 1;
  }
  const merged = client.readQuery({ query: ORDERS, variables: { first: pageSize } });
  return { ids: merged.orders.edges.map((edge) => edge.node.id), pages };
}

function cached(id) {
  return cache.readFragment({ id: cache.identify({ __typename: 'Order', id }), fragment: ORDER_STATUS });
}

async function firstEvent() {
  // Snapshot every crawled order now: the event may name any of them.
  const before = new Map(
    cache.readQuery({ query: ORDERS, variables: { first: pageSize } }).orders.edges.map((edge) => [
      edge.node.id,
      cached(edge.node.id),
    ]),
  );
  return new Promise((resolve, reject) => {
    const subscription = client.subscribe({ query: EVENTS }).subscribe({
      next(result) {
        if (result.errors?.length) {
          reject(new Error(JSON.stringify(result.errors)));
          return;
        }
        const event = result.data.orderEvents;
        subscription.unsubscribe();
        resolve({ event, before: before.get(event.order.id) ?? null, after: cached(event.order.id) });
      },
      error: reject,
    });
  });
}

try {
  console.log(JSON.stringify({ crawled: await crawl() }));
  console.log(JSON.stringify(await firstEvent()));
  process.exitCode = 0;
} catch (error) {
  console.error(error instanceof Error ? error.message : JSON.stringify(error));
  process.exitCode = 1;
} finally {
  await wsClient.dispose();
  client.stop();
}
