// The local ATProto network started by `scripts/local-pds.sh start` (LOCAL_PDS_URL).
import { randomBytes } from "node:crypto";

export const pdsUrl = process.env.LOCAL_PDS_URL ?? "http://localhost:2583";

export interface Account {
  handle: string;
  did: string;
  password: string;
}

/** A fresh account for one test, so tests can run in parallel. */
export async function createAccount(): Promise<Account> {
  const handle = `e${randomBytes(5).toString("hex")}.test`;
  const password = randomBytes(12).toString("base64url");
  const response = await fetch(`${pdsUrl}/xrpc/com.atproto.server.createAccount`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ handle, password, email: `${handle}@example.com` }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(`createAccount ${handle}: ${response.status} ${JSON.stringify(body)}`);
  return { handle: body.handle, did: body.did, password };
}
