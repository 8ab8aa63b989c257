import { connectionTypeDefs, pageInfoTypeDefs } from '@switchboard/pagination/graphql';

/** Schema first: no decorator metadata needed for the types (the app runs under tsx). */
export const typeDefs = /* GraphQL */ `
  type User {
    id: ID!
    username: String!
  }

  type AuthPayload {
    accessToken: String!
    refreshToken: String!
    user: User!
  }

  type Chat {
    id: ID!
    name: String!
  }

  type Message {
    id: ID!
    chatId: ID!
    senderId: ID!
    content: String!
    createdAt: String!
  }

  ${pageInfoTypeDefs}
  ${connectionTypeDefs('Message')}

  input SendMessageInput {
    chatId: ID!
    content: String!
  }

  type Query {
    me: User!
    messages(chatId: ID!, first: Int, after: String, last: Int, before: String): MessageConnection!
  }

  type Mutation {
    register(username: String!, password: String!): AuthPayload!
    login(username: String!, password: String!): AuthPayload!
    "Rotates the refresh token: the old one is spent (a second use revokes the session)."
    refresh(refreshToken: String!): AuthPayload!
    createChat(name: String!): Chat!
    addMember(chatId: ID!, username: String!): Boolean!
    sendMessage(input: SendMessageInput!): Message!
  }

  type Subscription {
    messageAdded(chatId: ID!): Message!
  }
`;
