// The order list of a Relay app: Query.orders as a paginated @connection that
// usePaginationFragment refetches through the generated OrderListPaginationQuery.
import { graphql } from 'relay-runtime';

export const orderListQuery = graphql`
  query OrderListQuery($status: [OrderStatus!]) {
    viewer { tenant }
    ...OrderList_query @arguments(status: $status)
  }
`;

export const orderListFragment = graphql`
  fragment OrderList_query on Query
  @refetchable(queryName: "OrderListPaginationQuery")
  @argumentDefinitions(
    first: { type: "Int", defaultValue: 10 }
    after: { type: "String" }
    status: { type: "[OrderStatus!]" }
  ) {
    orders(first: $first, after: $after, filter: { statuses: $status })
      @connection(key: "OrderList_orders", filters: ["filter"]) {
      totalCount
      edges {
        node {
          id
          ...OrderRow_order
        }
      }
    }
  }
`;
