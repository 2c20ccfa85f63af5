// standin.js starts one in-memory AWS stand-in bound to 127.0.0.1 on a port
// the kernel picks, and prints {"port": N} on its first line of stdout so the
// Go harness never races another process for a port.
// Usage: node standin.js kinesalite|dynalite
'use strict'
const which = process.argv[2]
// Tests create many streams side by side: lift kinesalite's default limit of
// 10 shards per account.
const opts = { createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 10000, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }
// kinesalite rethrows a request's 'error' event, so a client that drops a
// connection mid-request (a cancelled context, an SDK timeout) would kill
// the whole stand-in. Such a request is abandoned by its client anyway:
// note it and carry on. Anything else is still fatal.
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'aborted')) {
    console.error('client dropped a request: ' + err.message)
    return
  }
  console.error(err)
  process.exit(1)
})
let server
if (which === 'kinesalite') server = require('kinesalite')(opts)
else if (which === 'dynalite') server = require('dynalite')(opts)
else { console.error('usage: node standin.js kinesalite|dynalite'); process.exit(2) }
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n')
})
// The harness closes stdin when it is done; exit then, so no stand-in outlives it.
process.stdin.on('end', () => process.exit(0))
process.stdin.on('error', () => process.exit(0))
process.stdin.resume()
