// Runs the GraphQL over HTTP audit suite (graphql-http's serverAudits) against the
// URL given as the first argument, prints each result, and exits non-zero when a
// MUST fails. SHOULD and MAY results are reported, not enforced.
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:8080/query');
  process.exit(2);
}

const counts = { ok: 0, warn: 0, error: 0 };
const failedMusts = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  counts[result.status] = (counts[result.status] ?? 0) + 1;
  const mark = { ok: 'PASS', warn: 'WARN', error: 'FAIL' }[result.status] ?? result.status.toUpperCase();
  console.log(`${mark} ${audit.name}${result.status === 'ok' ? '' : ` — ${result.reason}`}`);
  if (result.status === 'error') failedMusts.push(audit.name);
}
console.log(`audit: ${counts.ok} passed, ${counts.error ?? 0} failed, ${counts.warn ?? 0} warnings, ${counts.notice ?? 0} notices`);
process.exit(failedMusts.length ? 1 : 0);
