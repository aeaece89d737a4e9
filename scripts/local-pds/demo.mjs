// Demo people and events on the local network, for `scripts/run.sh --local`: two accounts, then a
// handful of realistic events and RSVPs written straight to their repos on the local PDS, as any
// ATProto app would write them.
//
// usage: node demo.mjs accounts FILE   creates alice.test and bob.test (or reuses FILE's, while they
//                                      still sign in: the PDS keeps its repos until it is started
//                                      again, each start a new network); prints
//                                      {"people": [{"handle","did","password"}, ...]}
//        node demo.mjs events FILE     writes their events and RSVPs, once per FILE
// env LOCAL_PDS_URL (default http://localhost:2583). Needs no packages (global fetch, node >= 18).
import crypto from 'node:crypto'
import fs from 'node:fs'

const pdsUrl = (process.env.LOCAL_PDS_URL ?? 'http://localhost:2583').replace(/\/+$/, '')
const [command, credentialsFile] = process.argv.slice(2)
if (!['accounts', 'events'].includes(command) || !credentialsFile) {
  console.error('usage: node demo.mjs accounts|events FILE')
  process.exit(2)
}
const EVENT = 'community.lexicon.calendar.event'
const RSVP = 'community.lexicon.calendar.rsvp'

async function xrpc(method, body, token) {
  let res
  try {
    res = await fetch(`${pdsUrl}/xrpc/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
  } catch (e) {
    throw new Error(`cannot reach ${pdsUrl}: ${e.cause?.message ?? e.message}`)
  }
  const answer = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(`${method}: HTTP ${res.status} ${JSON.stringify(answer)}`)
  return answer
}

async function signIn(person) {
  const session = await xrpc('com.atproto.server.createSession', { identifier: person.did, password: person.password })
  return session.accessJwt
}

// FILE's people, when they still sign in.
async function earlier() {
  try {
    const kept = JSON.parse(fs.readFileSync(credentialsFile, 'utf8'))
    for (const person of kept.people) await signIn(person)
    return kept
  } catch {
    return null
  }
}

function keep(kept) {
  fs.writeFileSync(credentialsFile, JSON.stringify(kept), { mode: 0o600 })
}
// A new account; a taken handle gets a short random suffix.
async function createPerson(name) {
  const password = crypto.randomBytes(12).toString('base64url')
  for (const handle of [`${name}.test`, `${name}-${crypto.randomBytes(2).toString('hex')}.test`]) {
    try {
      const made = await xrpc('com.atproto.server.createAccount', {
        handle,
        password,
        email: `${handle.split('.')[0]}@example.com`,
      })
      return { handle: made.handle, did: made.did, password }
    } catch (e) {
      if (!String(e.message).includes('Handle already taken')) throw e
    }
  }
  throw new Error(`no free handle for ${name}`)
}

// Times in Berlin (the demo's events are there), as UTC instants with the zone beside them.
function berlin(daysFromNow, hour, minute = 0) {
  const day = new Date(Date.now() + daysFromNow * 86_400_000)
  const wall = Date.UTC(day.getUTCFullYear(), day.getUTCMonth(), day.getUTCDate(), hour, minute)
  // Berlin is UTC+1 in winter and UTC+2 in summer: ask Intl which one that day has.
  const offset = new Intl.DateTimeFormat('en', { timeZone: 'Europe/Berlin', timeZoneName: 'shortOffset' })
    .formatToParts(new Date(wall))
    .find((part) => part.type === 'timeZoneName')
    .value.match(/GMT([+-]\d+)?/)[1]
  return new Date(wall - Number(offset ?? 0) * 3_600_000).toISOString()
}

// Days from now to the next given weekday (0 = Sunday), at least `atLeast` days away.
function nextWeekday(weekday, atLeast = 1) {
  let days = atLeast
  while (new Date(Date.now() + days * 86_400_000).getUTCDay() !== weekday) days += 1
  return days
}

const inPerson = `${EVENT}#inperson`
const virtual = `${EVENT}#virtual`
const hybrid = `${EVENT}#hybrid`
const scheduled = `${EVENT}#scheduled`
const address = (name, street, locality, postalCode) => ({
  $type: 'community.lexicon.location.address',
  name,
  street,
  locality,
  postalCode,
  country: 'DE',
})

function plannedEvents() {
  const tuesday = nextWeekday(2)
  const meetup = (week) => ({
    name: 'Rust Berlin meetup',
    description:
      'Talks and hacking on Rust, every Tuesday. This week: parsing at the edge with serde, and a ' +
      'tour of a Leptos app. Beginners welcome; bring a laptop if you want to hack along.',
    startsAt: berlin(tuesday + 7 * week, 19),
    endsAt: berlin(tuesday + 7 * week, 21, 30),
    mode: inPerson,
    locations: [address('c-base', 'Rungestraße 20', 'Berlin', '10179')],
    uris: [{ uri: 'https://example.com/rust-berlin', name: 'Talk proposals' }],
  })
  return {
    alice: [
      meetup(0),
      meetup(1),
      meetup(2),
      {
        name: "Bluesky builders' breakfast",
        description: 'Coffee, croissants and whatever you are building on ATProto. We have the back room.',
        startsAt: berlin(nextWeekday(6), 10),
        endsAt: berlin(nextWeekday(6), 12),
        mode: inPerson,
        locations: [address('Café Oberholz', 'Torstraße 1', 'Berlin', '10119')],
      },
      {
        name: 'ATProto office hours',
        description: 'An hour of questions and answers about lexicons, PDS hosting and the firehose.',
        startsAt: berlin(nextWeekday(4), 17),
        endsAt: berlin(nextWeekday(4), 18),
        mode: virtual,
        uris: [{ uri: 'https://meet.example.com/atproto-office-hours', name: 'Video call' }],
      },
    ],
    bob: [
      {
        name: 'Sunday hike: Grunewald to Wannsee',
        description: '14 km through the forest, lunch by the lake. Meet at S Grunewald; sturdy shoes.',
        startsAt: berlin(nextWeekday(0), 9, 30),
        endsAt: berlin(nextWeekday(0), 15),
        mode: inPerson,
        locations: [
          { $type: 'community.lexicon.location.geo', latitude: '52.4879', longitude: '13.2601', name: 'S Grunewald' },
        ],
      },
      {
        name: 'Board game night',
        description: 'Catan, Azul, Codenames and whatever you bring. Join on the video call if you are away.',
        startsAt: berlin(nextWeekday(5), 19),
        endsAt: berlin(nextWeekday(5), 23),
        mode: hybrid,
        locations: [address('Spielwiese', 'Kopischstraße 10', 'Berlin', '10965')],
        uris: [{ uri: 'https://meet.example.com/board-games', name: 'Video call' }],
      },
      {
        name: 'Autumn picnic',
        description: 'Thanks to everyone who came!',
        startsAt: berlin(-12, 13),
        endsAt: berlin(-12, 17),
        mode: inPerson,
        locations: [address('Tempelhofer Feld', 'Tempelhofer Damm', 'Berlin', '12101')],
      },
    ],
  }
}

async function write(token, did, collection, record) {
  const now = new Date().toISOString()
  return xrpc('com.atproto.repo.createRecord', { repo: did, collection, record: { $type: collection, createdAt: now, ...record } }, token)
}

async function accounts() {
  let kept = await earlier()
  if (!kept) {
    const people = []
    for (const name of ['alice', 'bob']) {
      const { handle, did, password } = await createPerson(name)
      people.push({ handle, did, password })
    }
    kept = { people, eventsWritten: false }
    keep(kept)
  }
  console.log(JSON.stringify({ people: kept.people }))
}

async function events() {
  const kept = await earlier()
  if (!kept) throw new Error(`no demo accounts in ${credentialsFile} sign in: run "accounts" first`)
  if (kept.eventsWritten) return
  const [alice, bob] = await Promise.all(kept.people.map(async (person) => ({ ...person, token: await signIn(person) })))
  const written = { alice: [], bob: [] }
  const plan = plannedEvents()
  for (const [name, person] of [['alice', alice], ['bob', bob]]) {
    for (const event of plan[name]) {
      written[name].push(await write(person.token, person.did, EVENT, { status: scheduled, timezone: 'Europe/Berlin', ...event }))
    }
  }
  const answer = async (person, event, status) =>
    write(person.token, person.did, RSVP, {
      subject: { uri: event.uri, cid: event.cid },
      status: `${RSVP}#${status}`,
    })
  await answer(bob, written.alice[0], 'going')
  await answer(bob, written.alice[3], 'going')
  await answer(bob, written.alice[4], 'interested')
  await answer(alice, written.bob[0], 'interested')
  await answer(alice, written.bob[1], 'going')
  await answer(alice, written.bob[2], 'going')
  keep({ ...kept, eventsWritten: true })
}

;(command === 'accounts' ? accounts() : events()).catch((e) => {
  console.error(`demo: ${e.message}`)
  process.exit(1)
})
