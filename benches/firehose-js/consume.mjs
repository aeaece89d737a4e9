// The JS side of the firehose benchmark: replays a recorded subscribeRepos stream over a local
// websocket into @atproto/sync's Firehose (filtering the calendar collections, commits not
// verified, identity events excluded: the same work Skymeet's decoder + filter does) and prints
// frames per second. Usage: node consume.mjs <recording.frames>
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { IdResolver } from "@atproto/identity";
import { Firehose } from "@atproto/sync";
import * as dagCbor from "@ipld/dag-cbor";
import { WebSocketServer } from "ws";

const bytes = readFileSync(process.argv[2]);
const frames = [];
for (let at = 0; at + 4 <= bytes.length; ) {
  const length = bytes.readUInt32LE(at);
  frames.push(bytes.subarray(at + 4, at + 4 + length));
  at += 4 + length;
}
// A last #account frame marks the end: the consumer hands it over without any network call.
const sentinelDid = "did:plc:skymeetbenchsentinel";
frames.push(
  Buffer.concat([
    dagCbor.encode({ op: 1, t: "#account" }),
    dagCbor.encode({ seq: Number.MAX_SAFE_INTEGER, did: sentinelDid, time: new Date().toISOString(), active: true }),
  ]),
);

const server = createServer();
const wss = new WebSocketServer({ server, path: "/xrpc/com.atproto.sync.subscribeRepos" });
let started = 0;
// Sent as fast as the consumer takes them, but no further ahead than 16 MB, as a relay would: all
// 100k frames at once (300+ MB) would measure the garbage collector, not the consumer.
const AHEAD = 16 * 1024 * 1024;
wss.on("connection", (socket) => {
  started = performance.now();
  let next = 0;
  const pump = () => {
    while (next < frames.length && socket.bufferedAmount < AHEAD) socket.send(frames[next++]);
    if (next < frames.length) setTimeout(pump, 1);
  };
  pump();
});
await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address();

let events = 0;
const done = new Promise((resolve) => {
  const firehose = new Firehose({
    idResolver: new IdResolver({ plcUrl: process.env.LOCAL_PLC_URL ?? "http://localhost:2582" }),
    service: `ws://127.0.0.1:${port}`,
    filterCollections: ["community.lexicon.calendar.event", "community.lexicon.calendar.rsvp"],
    unauthenticatedCommits: true,
    unauthenticatedHandles: true,
    excludeIdentity: true,
    handleEvent: async (evt) => {
      events += 1;
      if (evt.event === "account" && evt.did === sentinelDid) {
        const seconds = (performance.now() - started) / 1000;
        resolve(seconds);
        await firehose.destroy();
      }
    },
    onError: (err) => console.error("firehose error:", err.message),
  });
  firehose.start();
});
const seconds = await done;
const recorded = frames.length - 1;
console.log(`  @atproto/sync Firehose (node ${process.version}): ${Math.round(recorded / seconds)} frames/s (${events - 1} events handed over)`);
wss.close();
server.close();
process.exit(0);
