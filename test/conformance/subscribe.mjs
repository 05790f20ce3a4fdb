// The graphql-ws npm client against a flashlive server:
//   node subscribe.mjs ws://127.0.0.1:PORT/graphql <liveRoomId>
// Subscribes to the room's liveRoom updates, prints the first one as JSON
// on one line ("first <json>"), completes, and exits 0; any error, or no
// update within 20 s, exits 1.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const [url, room] = process.argv.slice(2);
if (!url || !room) {
  console.error('usage: node subscribe.mjs <ws url> <liveRoomId>');
  process.exit(2);
}
const fail = (why) => {
  console.error(`subscribe: ${why}`);
  process.exit(1);
};
setTimeout(() => fail('no update within 20s'), 20_000).unref();

const client = createClient({ url, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
const sub = client.iterate({
  query: 'subscription($id: ID!) { liveRoom(id: $id) { __typename ... on ViewerCount { roomId count } } }',
  variables: { id: room },
});
try {
  const { value, done } = await sub.next();
  if (done) fail('the subscription completed without an update');
  console.log(`first ${JSON.stringify(value)}`);
  await sub.return();
  await client.dispose();
  process.exit(0);
} catch (err) {
  fail(err instanceof Error ? err.message : JSON.stringify(err));
}
