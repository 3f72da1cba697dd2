// A candidate's own orders: a nested connection paginated through Query.node.
import { graphql } from 'relay-runtime';

export const candidateOrdersFragment = graphql`
  fragment CandidateOrders_candidate on Candidate
  @refetchable(queryName: "CandidateOrdersPaginationQuery")
  @argumentDefinitions(first: { type: "Int", defaultValue: 5 }, after: { type: "String" }) {
    id
    firstName
    lastName
    emails
    orders(first: $first, after: $after) @connection(key: "CandidateOrders_orders") {
      edges {
        node {
          id
          status
          package { name }
        }
      }
    }
  }
`;

export const orderStatusSubscription = graphql`
  subscription CandidateOrdersStatusSubscription($orderId: ID!) {
    orderStatusChanged(orderId: $orderId) {
      cursor
      newStatus
      order { id status }
    }
  }
`;
