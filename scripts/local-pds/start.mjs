// Local ATProto network for development and tests: an in-memory PLC directory (@did-plc/server)
// and the official PDS (@atproto/pds), both bound to 127.0.0.1. Started by scripts/local-pds.sh,
// which sets the environment; every PDS_* default below can be overridden from the environment.
// No accounts are created here: tests create their own (scripts/local-pds.sh create-account).
// Prints one JSON summary line and then READY once both servers listen.
import './loopback-only.mjs' // must come first: makes listen(port) bind 127.0.0.1
import crypto from 'node:crypto'
import fs from 'node:fs'
import * as plc from '@did-plc/server'
import { PDS, readEnv } from '@atproto/pds'

const t0 = Date.now()
const env = process.env
const PLC_PORT = Number(env.PLC_PORT ?? 2582)
env.PDS_PORT ??= '2583'
env.PDS_HOSTNAME ??= 'localhost' // => publicUrl and OAuth issuer http://localhost:PDS_PORT
env.PDS_DEV_MODE ??= 'true'
env.PDS_DID_PLC_URL ??= `http://localhost:${PLC_PORT}`
env.PDS_SERVICE_HANDLE_DOMAINS ??= '.test'
env.PDS_INVITE_REQUIRED ??= 'false'
env.PDS_DATA_DIRECTORY ??= fs.mkdtempSync('/tmp/local-pds-data.')
env.PDS_BLOBSTORE_DISK_LOCATION ??= `${env.PDS_DATA_DIRECTORY}/blobs`
env.PDS_JWT_SECRET ??= 'dev-jwt-secret'
env.PDS_ADMIN_PASSWORD ??= 'dev-admin-pass'
env.PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX ??= crypto.randomBytes(32).toString('hex')
env.LOG_ENABLED ??= 'false'
fs.mkdirSync(env.PDS_BLOBSTORE_DISK_LOCATION, { recursive: true })

// The PLC lives in memory: its DIDs vanish on exit, so the PDS data dir must be fresh each start.
const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: PLC_PORT })
await plcServer.start()

const pds = await PDS.fromEnv(readEnv())
await pds.start()

let stopping = false
const shutdown = async (signal) => {
  if (stopping) return
  stopping = true
  console.log(`${signal}: shutting down`)
  setTimeout(() => { console.error('shutdown timed out'); process.exit(1) }, 8000).unref()
  await pds.destroy().catch((e) => console.error('pds.destroy', e))
  await plcServer.destroy().catch((e) => console.error('plc.destroy', e))
  console.log('stopped')
  process.exit(0)
}
process.on('SIGINT', () => shutdown('SIGINT'))
process.on('SIGTERM', () => shutdown('SIGTERM'))

console.log(JSON.stringify({
  plcUrl: `http://localhost:${PLC_PORT}`,
  pdsUrl: pds.ctx.cfg.service.publicUrl,
  oauthIssuer: pds.ctx.cfg.oauth?.issuer,
  dataDir: env.PDS_DATA_DIRECTORY,
  node: process.version,
  readyMs: Date.now() - t0,
  rssMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
}))
console.log('READY')
