// A fixed list of node-zendesk calls against the URL in ZD_URL; prints one JSON line per call.
// The client is used as its documentation shows; nothing in it is patched.
'use strict';
const zendesk = require('node-zendesk');

const client = zendesk.createClient({
  username: process.env.ZD_EMAIL,
  token: process.env.ZD_TOKEN,
  endpointUri: `${process.env.ZD_URL}/api/v2`,
});

// Zendesk's time passes in the sandbox through its control endpoint (jobs run, the export's last minute ends).
async function advance(seconds) {
  await fetch(`${process.env.ZD_URL}/__sandbox/clock/advance`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ seconds }),
  });
}

const calls = [];
const state = {};
function call(name, fn) { calls.push([name, fn]); }

call('users.me', async () => (await client.users.me()).result.email);
call('accountsettings.show', async () => Object.keys((await client.accountsettings.show()).result).sort());
call('users.create', async () => {
  const { result } = await client.users.create({ user: { name: 'Node Person', email: 'node@client.test' } });
  state.user = result.id;
  return result.role;
});
call('tickets.create', async () => {
  const { result } = await client.tickets.create({
    ticket: { subject: 'From node', comment: { body: 'Hello from node-zendesk' }, requester_id: state.user },
  });
  state.ticket = result.id;
  return result.status;
});
call('tickets.show', async () => (await client.tickets.show(state.ticket)).result.subject);
call('tickets.update', async () => (await client.tickets.update(state.ticket, {
  ticket: { status: 'pending', comment: { body: 'A reply', public: true } },
})).result.status);
call('tickets.getComments', async () => (await client.tickets.getComments(state.ticket)).length);
call('tickets.list', async () => (await client.tickets.list()).length);
call('users.list', async () => (await client.users.list()).length);
call('tickets.updateMany', async () => {
  const { result } = await client.tickets.updateMany([state.ticket], { ticket: { additional_tags: ['node'] } });
  state.job = result.job_status ? result.job_status.id : result.id;
  return typeof state.job;
});
call('jobstatuses.show', async () => {
  await advance(5);
  const { result } = await client.jobstatuses.show(state.job);
  return result.job_status ? result.job_status.status : result.status;
});
call('tickets.showMany', async () => (await client.tickets.showMany([state.ticket])).result.length);
call('ticketaudits.list', async () => (await client.ticketaudits.list(state.ticket)).length);
call('ticketevents.incrementalInclude', async () => {
  await advance(61);
  const events = await client.ticketevents.incrementalInclude(0, 'comment_events');
  return Array.isArray(events) ? events.length : typeof events;
});

(async () => {
  for (const [name, fn] of calls) {
    try {
      console.log(JSON.stringify({ call: name, ok: true, value: await fn() }));
    } catch (err) {
      console.log(JSON.stringify({ call: name, ok: false, error: String(err && err.message || err).slice(0, 300) }));
    }
  }
})();
