// One row of the list: an Order with its candidate; refetchable through Query.node.
import { graphql } from 'relay-runtime';

export const orderRowFragment = graphql`
  fragment OrderRow_order on Order @refetchable(queryName: "OrderRowRefetchQuery") {
    id
    remoteId
    provider
    status
    createdAt
    updatedAt
    candidate {
      id
      ...CandidateOrders_candidate
    }
    result { score maxScore }
  }
`;
