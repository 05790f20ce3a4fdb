// The graphql-http audit (https://github.com/graphql/graphql-http) of a
// flashlive server: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints one line per check ("ok", "warn" or "error", its name, and the
// reason) and a summary; exits 1 when any check warns or errors.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const results = await auditServer({ url });
let warnings = 0;
let errors = 0;
for (const r of results) {
  if (r.status === 'warn') warnings++;
  if (r.status === 'error') errors++;
  const why = r.status === 'ok' ? '' : ` -- ${r.reason}`;
  console.log(`${r.status.padEnd(5)} ${r.name}${why}`);
}
console.log(`audit: ${results.length} checks, ${warnings} warnings, ${errors} errors`);
process.exit(warnings + errors > 0 ? 1 : 0);
