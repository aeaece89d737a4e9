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

async function xrpc(method: string, body: unknown, token?: string): Promise<any> {
  const response = await fetch(`${pdsUrl}/xrpc/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`${method}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

/** Writes the account's Bluesky profile record, as the Bluesky app would. */
export async function setProfile(account: Account, profile: { displayName: string; description: string }) {
  const session = await xrpc("com.atproto.server.createSession", {
    identifier: account.handle,
    password: account.password,
  });
  await xrpc(
    "com.atproto.repo.putRecord",
    {
      repo: account.did,
      collection: "app.bsky.actor.profile",
      rkey: "self",
      record: { $type: "app.bsky.actor.profile", ...profile },
    },
    session.accessJwt,
  );
}

/** A record as the account's PDS holds it, or `null` when it does not exist. */
export async function getRecord(did: string, collection: string, rkey: string): Promise<any | null> {
  const url = new URL(`${pdsUrl}/xrpc/com.atproto.repo.getRecord`);
  url.search = new URLSearchParams({ repo: did, collection, rkey }).toString();
  const response = await fetch(url);
  if (response.status === 400) return null;
  if (!response.ok) throw new Error(`getRecord: ${response.status}`);
  return response.json();
}

/** Every record of a collection in a repo. */
export async function listRecords(did: string, collection: string): Promise<any[]> {
  const url = new URL(`${pdsUrl}/xrpc/com.atproto.repo.listRecords`);
  url.search = new URLSearchParams({ repo: did, collection, limit: "100" }).toString();
  const response = await fetch(url);
  if (!response.ok) throw new Error(`listRecords: ${response.status}`);
  return (await response.json()).records;
}

/** The admin account the test server was started with (ADMIN_DIDS; see playwright.config.ts). */
export function adminAccount(): Account {
  return JSON.parse(process.env.E2E_ADMIN ?? "null") as Account;
}

/** Writes a record straight to the account's repo, as another app would. */
export async function putRecord(account: Account, collection: string, rkey: string, record: unknown) {
  const session = await xrpc("com.atproto.server.createSession", {
    identifier: account.handle,
    password: account.password,
  });
  return xrpc("com.atproto.repo.putRecord", { repo: account.did, collection, rkey, record }, session.accessJwt);
}

/** Deletes a record straight from the account's repo, as another app would. */
export async function deleteRecord(account: Account, collection: string, rkey: string) {
  const session = await xrpc("com.atproto.server.createSession", {
    identifier: account.handle,
    password: account.password,
  });
  return xrpc("com.atproto.repo.deleteRecord", { repo: account.did, collection, rkey }, session.accessJwt);
}

/** Writes many records to the account's repo in one commit, as another app would. */
export async function putRecords(account: Account, collection: string, records: { rkey: string; record: unknown }[]) {
  const session = await xrpc("com.atproto.server.createSession", {
    identifier: account.handle,
    password: account.password,
  });
  const writes = records.map(({ rkey, record }) => ({
    $type: "com.atproto.repo.applyWrites#create",
    collection,
    rkey,
    value: record,
  }));
  return xrpc("com.atproto.repo.applyWrites", { repo: account.did, writes }, session.accessJwt);
}
