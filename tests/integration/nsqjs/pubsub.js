#!/usr/bin/env node
// Real-client test: the nsqjs library publishes 10,000 messages to nsqd (part as MPUB batches, the rest as
// single PUBs) and consumes them on two channels with three readers each. Every message must reach each
// channel and be finished exactly once per channel; a delivery after that channel already FINed the message
// is a failure. Exit 0 on success, 1 with a reason otherwise, 2 on the hard timeout.
//
// usage: node pubsub.js <tcp_port> [total=10000]    (or env NSQD_TCP_PORT / NSQD_HOST)
// NSQJS_OPTIONS (JSON) adds nsqjs connection options to every reader and the writer, e.g.
// '{"tls":true,"tlsVerification":false}', '{"deflate":true,"deflateLevel":6}' or '{"snappy":true}'.
'use strict'

const net = require('net')
const nsq = require('nsqjs')

const host = process.env.NSQD_HOST || '127.0.0.1'
const port = parseInt(process.argv[2] || process.env.NSQD_TCP_PORT || '', 10)
const total = parseInt(process.argv[3] || process.env.NSQJS_TOTAL || '10000', 10)
const hardTimeoutMs = parseInt(process.env.NSQJS_TIMEOUT_MS || '120000', 10)
const connOptions = JSON.parse(process.env.NSQJS_OPTIONS || '{}')
if (!Number.isInteger(port) || port <= 0) {
  console.error('usage: node pubsub.js <nsqd tcp port> [total]')
  process.exit(1)
}

const topic = `nsqjs_${process.pid}_${Date.now()}`
const channels = ['ch_a', 'ch_b']
const readersPerChannel = 3
const batchSize = 100
const batchedCount = Math.floor(total / 2 / batchSize) * batchSize // first half as MPUB batches
const started = Date.now()

const log = (...a) => console.log(`[pubsub +${Date.now() - started}ms]`, ...a)
const fail = (reason) => {
  console.error(`FAIL: ${reason}`)
  process.exit(1)
}

setTimeout(() => {
  const summary = channels.map((c) => `${c}: ${state[c].finished.size}/${total} finished`).join(', ')
  console.error(`FAIL: hard timeout after ${hardTimeoutMs} ms (published ${published}/${total}; ${summary})`)
  process.exit(2)
}, hardTimeoutMs).unref()

const bodyOf = (i) => `msg-${i}`
const state = {}
for (const c of channels) state[c] = {finished: new Set(), inFlight: new Set(), attemptsOver1: 0}
let published = 0

// Create both channels before publishing (raw protocol SUB, then disconnect): a topic with no channel keeps
// its messages for the first channel only, so both channels must exist before the first publish.
function createChannel(channel) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host)
    let buf = Buffer.alloc(0)
    const timer = setTimeout(() => reject(new Error(`no SUB reply creating ${channel}`)), 10000)
    sock.on('connect', () => sock.write(`  V2SUB ${topic} ${channel}\n`))
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d])
      while (buf.length >= 8) {
        const size = buf.readInt32BE(0)
        if (buf.length < 4 + size) return
        const type = buf.readInt32BE(4)
        const data = buf.slice(8, 4 + size).toString()
        buf = buf.slice(4 + size)
        if (data === '_heartbeat_') continue
        clearTimeout(timer)
        sock.destroy()
        if (type === 0 && data === 'OK') resolve()
        else reject(new Error(`SUB ${topic} ${channel} answered type ${type} '${data}'`))
        return
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

function startReaders() {
  const readers = []
  for (const channel of channels) {
    for (let r = 0; r < readersPerChannel; r++) {
      const reader = new nsq.Reader(topic, channel, {
        nsqdTCPAddresses: [`${host}:${port}`],
        maxInFlight: 200,
        maxAttempts: 0,
        clientId: `pubsub-${channel}-${r}`,
        ...connOptions,
      })
      reader.on('message', (msg) => {
        const body = msg.body.toString()
        const st = state[channel]
        if (st.finished.has(body)) fail(`${channel}: '${body}' delivered again after it was finished (reader ${r}, attempts ${msg.attempts})`)
        if (st.inFlight.has(body)) fail(`${channel}: '${body}' delivered to two consumers at once (reader ${r})`)
        if (msg.attempts > 1) st.attemptsOver1++
        st.inFlight.add(body)
        msg.finish()
        st.inFlight.delete(body)
        st.finished.add(body)
        checkDone()
      })
      reader.on('error', (err) => fail(`reader ${channel}/${r} error: ${err && err.message ? err.message : err}`))
      reader.on('discard', (msg) => fail(`reader ${channel}/${r} discarded ${msg.body.toString()}`))
      reader.connect()
      readers.push(reader)
    }
  }
  return readers
}

let readers = []
let doneChecked = false
function checkDone() {
  if (doneChecked) return
  if (published < total) return
  for (const c of channels) if (state[c].finished.size < total) return
  doneChecked = true
  // wait a little to catch duplicate deliveries arriving after completion
  setTimeout(() => {
    for (const c of channels) {
      for (let i = 0; i < total; i++) if (!state[c].finished.has(bodyOf(i))) fail(`${c}: message ${bodyOf(i)} missing`)
      if (state[c].finished.size !== total) fail(`${c}: ${state[c].finished.size} distinct bodies, expected ${total}`)
    }
    const redeliveries = channels.map((c) => `${c}=${state[c].attemptsOver1}`).join(' ')
    log(`OK: ${total} messages (${batchedCount} via MPUB in batches of ${batchSize}, ${total - batchedCount} via PUB) ` +
        `finished exactly once on each of ${channels.join(', ')}; deliveries with attempts>1: ${redeliveries}`)
    for (const r of readers) r.close()
    writer.close()
    setTimeout(() => process.exit(0), 200)
  }, 1000)
}

function publishAll(w) {
  return new Promise((resolve, reject) => {
    const jobs = []
    for (let i = 0; i < batchedCount; i += batchSize) {
      const batch = []
      for (let k = i; k < i + batchSize; k++) batch.push(bodyOf(k))
      jobs.push(batch) // array → MPUB
    }
    for (let i = batchedCount; i < total; i++) jobs.push(bodyOf(i)) // string → PUB
    let next = 0
    let outstanding = 0
    const window = 200
    const pump = () => {
      while (outstanding < window && next < jobs.length) {
        const job = jobs[next++]
        outstanding++
        w.publish(topic, job, (err) => {
          outstanding--
          if (err) return reject(new Error(`publish failed: ${err.message || err}`))
          published += Array.isArray(job) ? job.length : 1
          if (published === total) resolve()
          else pump()
        })
      }
    }
    pump()
  })
}

const writer = new nsq.Writer(host, port, connOptions)
async function main() {
  for (const c of channels) await createChannel(c)
  log(`channels ${channels.join(', ')} created on topic ${topic}`)
  readers = startReaders()
  await new Promise((resolve, reject) => {
    writer.on('ready', resolve)
    writer.on('error', (err) => reject(new Error(`writer error: ${err && err.message ? err.message : err}`)))
    writer.connect()
  })
  writer.on('closed', () => {
    if (published < total) fail('writer connection closed before all messages were published')
  })
  await publishAll(writer)
  log(`published ${published} messages`)
  checkDone()
}

main().catch((e) => fail(e.message || String(e)))
