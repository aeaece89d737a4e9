// Create an account on the local PDS and print {"handle","did","password"} as one JSON line.
// usage: node create-account.mjs [handle]   (env LOCAL_PDS_URL, default http://localhost:2583)
// Without a handle a random one like t1a2b3c4d5e.test is used; a handle without a dot gets ".test".
// The password is always random. Needs no packages (global fetch, node >= 18).
import crypto from 'node:crypto'

const pdsUrl = (process.env.LOCAL_PDS_URL ?? 'http://localhost:2583').replace(/\/+$/, '')
let handle = process.argv[2] || `t${crypto.randomBytes(8).toString('hex').slice(0, 10)}.test`
if (!handle.includes('.')) handle = `${handle}.test`
handle = handle.toLowerCase()
const password = crypto.randomBytes(18).toString('base64url')
const email = `${handle.split('.')[0]}-${crypto.randomBytes(4).toString('hex')}@example.com`

let res
try {
  res = await fetch(`${pdsUrl}/xrpc/com.atproto.server.createAccount`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ handle, password, email }),
  })
} catch (e) {
  console.error(`create-account: cannot reach ${pdsUrl}: ${e.cause?.message ?? e.message}`)
  process.exit(1)
}
const body = await res.json().catch(() => ({}))
if (!res.ok) {
  console.error(`create-account: ${handle}: HTTP ${res.status} ${JSON.stringify(body)}`)
  process.exit(1)
}
console.log(JSON.stringify({ handle: body.handle, did: body.did, password }))
